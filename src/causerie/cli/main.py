"""The `causerie` command: every subcommand parses flags into `Settings` and delegates."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from causerie import __version__
from causerie.cli.common import one_line_errors, settings_from

app = typer.Typer(
    help="Causerie: an open-source ChatGPT you own.", no_args_is_help=True, add_completion=False
)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="TOML config file", envvar="CAUSERIE_CONFIG")
]
ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="model id, name or .gguf path")]
DataDirOpt = Annotated[Path | None, typer.Option("--data-dir", help="where Causerie keeps data")]
CtxOpt = Annotated[int | None, typer.Option("--ctx-size", "-c", help="context tokens per chat")]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"causerie {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
) -> None:
    """Causerie: chat web app, OpenAI-compatible API and LLM engine in one."""


@app.command()
@one_line_errors
def serve(
    host: Annotated[str | None, typer.Option(help="address to bind (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default 8000)")] = None,
    model: ModelOpt = None,
    embedding_model: Annotated[
        str | None,
        typer.Option("--embedding-model", help="'minilm', an embedding .gguf or a BERT folder"),
    ] = None,
    ctx_size: CtxOpt = None,
    parallel: Annotated[int | None, typer.Option("--parallel", "-np", help="chat slots")] = None,
    threads: Annotated[int | None, typer.Option("--threads", "-t")] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="require this Bearer key")
    ] = None,
    data_dir: DataDirOpt = None,
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="postgresql://… (default: SQLite)")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the chat app and the OpenAI-compatible API."""
    from causerie.cli.serve import serve as run

    run(
        settings_from(
            config,
            host=host,
            port=port,
            model=model,
            embedding_model=embedding_model,
            ctx_size=ctx_size,
            parallel=parallel,
            threads=threads,
            api_key=api_key,
            data_dir=data_dir,
            database_url=database_url,
        )
    )


@app.command()
@one_line_errors
def chat(
    url: Annotated[
        str | None, typer.Option(help="a running server, e.g. http://127.0.0.1:8000")
    ] = None,
    model: ModelOpt = None,
    system: Annotated[str | None, typer.Option(help="system prompt")] = None,
    temperature: Annotated[float, typer.Option(min=0.0, max=2.0)] = 0.7,
    max_tokens: Annotated[int | None, typer.Option(min=1)] = None,
    ctx_size: CtxOpt = None,
    api_key: Annotated[str | None, typer.Option("--api-key")] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Chat in the terminal, in-process or with a server (--url)."""
    from causerie.cli.chat import run_chat

    settings = settings_from(
        config, model=model, ctx_size=ctx_size, api_key=api_key, data_dir=data_dir, parallel=1
    )
    run_chat(settings, url=url, system=system, temperature=temperature, max_tokens=max_tokens)


@app.command()
@one_line_errors
def models(data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """List the models Causerie can serve."""
    from causerie.cli.models import list_models

    list_models(settings_from(config, data_dir=data_dir))


@app.command()
@one_line_errors
def pull(
    spec: Annotated[str, typer.Argument(help="OWNER/REPO or OWNER/REPO/FILE.gguf")],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Download a GGUF model from the Hugging Face Hub into the models folder."""
    from causerie.cli.pull import run_pull

    run_pull(settings_from(config, data_dir=data_dir), spec)


@app.command("convert-embedding")
@one_line_errors
def convert_embedding(
    source: Annotated[Path, typer.Argument(help="a sentence-transformers BERT folder")],
    out: Annotated[Path, typer.Argument(help="the .gguf file to write")],
    f16: Annotated[bool, typer.Option("--f16", help="store matrices as float16")] = False,
) -> None:
    """Convert a BERT embedding model (safetensors) to GGUF for --embedding-model."""
    from causerie.engine.convert_bert import convert_bert

    written = convert_bert(source, out, f16=f16)
    typer.echo(f"wrote {written} ({written.stat().st_size / 1e6:.0f} MB)")


db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
@one_line_errors
def db_upgrade(
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Apply the database migrations (the server also does it at start-up)."""
    from causerie.cli.db import run_upgrade

    run_upgrade(settings_from(config, database_url=database_url, data_dir=data_dir))


users_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create-admin")
@one_line_errors
def create_admin(
    email: Annotated[str, typer.Argument(help="the administrator's e-mail")],
    name: Annotated[str, typer.Option(help="display name")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
    database_url: Annotated[str | None, typer.Option("--database-url")] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create an administrator account (for headless setups)."""
    from causerie.cli.users import read_password, run_create_admin

    settings = settings_from(config, data_dir=data_dir, database_url=database_url)
    run_create_admin(settings, email, read_password(password_stdin), name=name)


def main() -> None:
    app()
