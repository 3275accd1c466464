"""AffectStudio: review facial affect in video with a DDAMFN multi-task network."""

__version__ = "0.1.0"

__all__ = ["__version__", "read_results"]


def read_results(path):
    """Load a per-frame results file of ours (CSV or Parquet; affectstudio, openface or pyfeat columns)
    into one pandas DataFrame in AffectStudio's layout. See `affectstudio.core.layouts.read_results`."""
    from affectstudio.core.layouts import read_results as read

    return read(path)
