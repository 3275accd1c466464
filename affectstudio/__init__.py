"""AffectStudio: review facial affect in video with a DDAMFN multi-task network."""

__version__ = "0.1.0"
