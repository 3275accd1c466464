"""The DDAMFN multi-task network, its checkpoint format, stock-checkpoint import and the model registry."""
