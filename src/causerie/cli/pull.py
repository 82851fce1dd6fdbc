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
from causerie.engine.models import ModelCatalogue, inspect_model


class _Bar:
    """A rich download bar on stderr (a terminal only), started at the first report."""

    def __init__(self, console: Console, label: str) -> None:
        self.console, self.label = console, label
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def __call__(self, done: int, total: int | None) -> None:
        if not self.console.is_terminal:
            return
        if self.progress is None:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
        if self.task is None:
            self.task = self.progress.add_task(self.label, total=total)
        self.progress.update(self.task, completed=done, total=total)

    def note(self, text: str) -> None:
        (self.progress.console if self.progress else self.console).print(text)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress, self.task = None, None


def run_pull(settings: Settings, spec: str) -> None:
    bar = _Bar(Console(stderr=True), "download")
    try:
        path = pull(spec, settings.models_dir, settings.hf_endpoint, progress=bar, notify=bar.note)
    finally:
        bar.close()
    try:
        model = inspect_model(path)
    except ModelLoadError as exc:
        raise ModelLoadError(f"the downloaded file is not a usable GGUF: {exc.message}") from None
    specs, _ = ModelCatalogue(settings.models_dir).available()
    listed = next((s for s in specs if s.path.resolve() == path.resolve()), model)
    out = Console(highlight=False, soft_wrap=True)
    out.print(f"saved {path}")
    out.print(f"model id: {listed.id}  (causerie serve --model {listed.id})")
    if listed.id != model.id:
        out.print(f"note: its metadata id '{model.id}' belongs to another model already")
