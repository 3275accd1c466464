"""Training for the DDAMFN multi-task network: the paper's s-Aff-Wild2 recipe, a library plus a thin CLI."""
