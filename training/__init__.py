"""Training for the DDAMFN multi-task network: the paper's s-Aff-Wild2 recipe, as a library plus a thin CLI."""
