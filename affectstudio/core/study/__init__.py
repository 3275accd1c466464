"""Many-video analysis (a study): inputs and output names, the resumable manifest, the summary, and the
executors that run one job per video (local worker processes, or Ray on a cluster).

    inputs.py        files / folders / globs -> videos -> output names that mirror the folders
    manifest.py      OUT/.affectstudio-study.sqlite: each video's state, keyed by content, model, options
    summary.py       one row per video and track, accumulated while the rows stream to disk
    worker.py        the job for one video (a plain function taking a JobState)
    local.py         ProcessPoolExecutor (spawn) with a thread budget per worker
    ray_executor.py  one Ray task per video, the model in the object store once
    runner.py        run_study(state, spec): plan, skip what is done, run the rest, write the summary
    project.py       a project's videos through the same runner, each result moved into the project
"""

from affectstudio.core.study.runner import StudyProgress, StudyReport, StudySpec, run_study

__all__ = ["StudyProgress", "StudyReport", "StudySpec", "run_study"]
