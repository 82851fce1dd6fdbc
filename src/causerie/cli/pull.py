"""`causerie pull OWNER/REPO[/FILE.gguf]`: download a GGUF model into the models folder.

Progress and notes go to stderr; stdout gets the saved path and the model id to pass to
`--model`. The work (choice of file, resume, checksum) is `engine.hub.pull`'s.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from causerie.core.errors import ModelLoadError
from causerie.core.settings import Settings
from causerie.engine.hub import pull
from causerie.engine.models import inspect_model


class _Bar:
    """A rich download bar, created at the first progress report."""

    def __init__(self, progress: Progress, label: str) -> None:
        self.progress, self.label = progress, label
        self.task: TaskID | None = None

    def __call__(self, done: int, total: int | None) -> None:
        if self.task is None:
            self.task = self.progress.add_task(self.label, total=total)
        self.progress.update(self.task, completed=done, total=total)


def run_pull(settings: Settings, spec: str) -> None:
    err = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as progress:
        bar = _Bar(progress, spec.split("/")[-1])
        path = pull(spec, settings.models_dir, settings.hf_endpoint, progress=bar, notify=err.print)
    try:
        model = inspect_model(path)
    except ModelLoadError as exc:
        raise ModelLoadError(
            f"downloaded {path}, but it is not a usable GGUF: {exc.message}"
        ) from None
    out = Console(highlight=False, soft_wrap=True)
    out.print(f"saved {path}")
    out.print(f"model id: {model.id}  (causerie serve --model {model.id})")
