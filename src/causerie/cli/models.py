"""`causerie models`: the models this installation can serve."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from causerie.core.settings import Settings
from causerie.engine.models import ModelCatalogue


def list_models(settings: Settings) -> None:
    specs, problems = ModelCatalogue(settings.models_dir).available()
    table = Table(title=f"Models (folder: {settings.models_dir})")
    for column in ("id", "architecture", "context", "size", "file"):
        table.add_column(column)
    for spec in specs:
        size = spec.path.stat().st_size / 1e6
        label = f"{spec.path}" + ("  [bundled]" if spec.bundled else "")
        table.add_row(spec.id, spec.architecture, str(spec.context_length), f"{size:.0f} MB", label)
    console = Console(width=200)
    console.print(table)
    for problem in problems:
        console.print(f"[yellow]skipped:[/yellow] {problem}")
