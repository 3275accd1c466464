"""The Ray executor: one Ray task per video on a cluster (or a local Ray instance).

- Resources are declared per task: one CPU (a study has many videos, so a CPU cluster is best used one
  video per core), and a whole GPU when the analysis runs on CUDA.
- The model goes into the object store once (`ray.put`); each worker process fetches it on its first
  task and keeps it, with its inference engine, for the next ones.
- `max_retries` re-runs a task whose node died; a failure inside the video (corrupt) is not an
  exception but a failed outcome, so it is reported, not retried.
- Outputs: by default each task writes its files into OUT itself, which must then be a folder every node
  sees at the same path (a shared file system). That is the default because the per-frame files of a
  study are large and would otherwise all flow through the object store and the driver. With
  `return_results` a task writes into a temporary folder on its node and returns the bytes; the driver
  writes them into OUT (for clusters without shared storage for outputs; the videos must still be
  readable by every node at the path given).
Progress: a Ray task reports only when it ends, so the driver shows videos done, not frames in flight.
"""

from __future__ import annotations

from affectstudio.core.errors import AffectStudioError
from affectstudio.core.jobs import JobState
from affectstudio.core.study.worker import VideoOutcome, VideoTask, analyze_video, budgeted

MAX_RETRIES = 3
_MODEL: dict = {}


def _ray_job(task: VideoTask, options, digest: str, model_box: list) -> VideoOutcome:
    """Runs on a Ray worker. `model_box` holds the model's object ref inside a list, so Ray does not
    fetch it for every task; it is fetched once per worker process."""
    import ray

    if _MODEL.get("digest") != digest:
        _MODEL.update(digest=digest, loaded=ray.get(model_box[0]))
    return analyze_video(task, budgeted(options, 1), _MODEL["loaded"], JobState())


class RayExecutor:
    def __init__(self, loaded, options, address: str | None = None, return_results: bool = False):
        self.loaded, self.options = loaded, options
        self.address, self.return_results = address, return_results

    def _connect(self):
        try:
            import ray
        except ImportError:
            raise AffectStudioError(
                None, "the Ray executor needs Ray: pip install 'affectstudio[cluster]'"
            ) from None
        if not ray.is_initialized():
            try:
                # without an address Ray starts a one-machine cluster: keep it on loopback, where nothing
                # outside this machine can reach its unauthenticated ports
                local = {} if self.address else {"_node_ip_address": "127.0.0.1"}
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False, **local)
            except (ConnectionError, RuntimeError, ValueError) as error:
                raise AffectStudioError(
                    None, f"cannot connect to the Ray cluster at {self.address}: {error}"
                ) from None
        return ray

    def _gpus(self) -> int:
        device = str(self.options.device)
        if device.startswith("cuda"):
            return 1
        if device == "auto":
            import torch

            return 1 if torch.cuda.is_available() else 0
        return 0

    def run(self, tasks: list[VideoTask], events) -> None:
        if not tasks:
            return
        ray = self._connect()
        model_ref = ray.put(self.loaded)
        remote = ray.remote(_ray_job).options(num_cpus=1, num_gpus=self._gpus(), max_retries=MAX_RETRIES)
        refs = {}
        for task in tasks:
            if self.return_results:
                task = VideoTask(task.video, task.name, task.output, task.out_dir, task.style, True)
            refs[remote.remote(task, self.options, self.loaded.digest, [model_ref])] = task
        pending, stopping = list(refs), False
        while pending:
            done, pending = ray.wait(pending, num_returns=1, timeout=0.2)
            for ref in done:
                task = refs[ref]
                try:
                    outcome = ray.get(ref)
                except ray.exceptions.TaskCancelledError:
                    outcome = VideoOutcome(task.output, "cancelled", "stopped before the end")
                except ray.exceptions.RayError as error:
                    text = str(error).strip()
                    reason = text.splitlines()[0] if text else type(error).__name__
                    outcome = VideoOutcome(task.output, "failed", f"{task.video}: Ray task failed ({reason})")
                events.on_outcome(outcome)
            if not stopping and events.stop_requested():
                stopping = True
                for ref in pending:
                    ray.cancel(ref)
