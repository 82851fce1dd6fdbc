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
DatabaseUrlOpt = Annotated[
    str | None, typer.Option("--database-url", help="postgresql://… (default: SQLite)")
]


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
    database_url: DatabaseUrlOpt = None,
    models_config: Annotated[
        Path | None,
        typer.Option("--models-config", help="TOML file of models and replicas (router)"),
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
            models_config=models_config,
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
    database_url: DatabaseUrlOpt = None,
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
    database_url: DatabaseUrlOpt = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Create an administrator account (for headless setups)."""
    from causerie.cli.users import read_password, run_create_admin

    settings = settings_from(config, data_dir=data_dir, database_url=database_url)
    run_create_admin(settings, email, read_password(password_stdin), name=name)


cluster_app = typer.Typer(
    help="Engine replicas on a Ray cluster (Ray Serve).", no_args_is_help=True
)
app.add_typer(cluster_app, name="cluster")

AddressOpt = Annotated[
    str,
    typer.Option(
        "--address",
        help="'local' starts a Ray cluster here; 'auto' or HOST:PORT joins a running one",
    ),
]
AppNameOpt = Annotated[str, typer.Option("--name", help="Ray Serve application name")]


@cluster_app.command("serve")
@one_line_errors
def cluster_serve(
    address: AddressOpt = "local",
    host: Annotated[
        str | None, typer.Option(help="Ray Serve HTTP address (default 127.0.0.1)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Ray Serve HTTP port (default 8000)")] = None,
    min_replicas: Annotated[int, typer.Option(min=1, help="replicas kept at least")] = 1,
    max_replicas: Annotated[int, typer.Option(min=1, help="replicas at most")] = 2,
    initial_replicas: Annotated[int | None, typer.Option(min=1)] = None,
    target_ongoing_requests: Annotated[
        float | None,
        typer.Option(help="running + queued requests per replica to scale at (default: slots)"),
    ] = None,
    upscale_delay_s: Annotated[
        float, typer.Option(min=0, help="seconds above target before adding a replica")
    ] = 10.0,
    downscale_delay_s: Annotated[
        float, typer.Option(min=0, help="seconds below target before removing one")
    ] = 300.0,
    session_affinity: Annotated[
        bool,
        typer.Option(
            "--session-affinity",
            help="send requests with the same x-session-id header to the same replica",
        ),
    ] = False,
    cpus_per_replica: Annotated[
        float | None, typer.Option(help="CPUs Ray reserves per replica (default: threads)")
    ] = None,
    num_cpus: Annotated[
        int | None, typer.Option(help="CPUs of the local Ray cluster (--address local)")
    ] = None,
    temp_dir: Annotated[
        Path | None, typer.Option(help="Ray's session folder (--address local; short path)")
    ] = None,
    name: AppNameOpt = "causerie",
    model: ModelOpt = None,
    ctx_size: CtxOpt = None,
    parallel: Annotated[
        int | None, typer.Option("--parallel", "-np", help="chat slots per replica (default 4)")
    ] = None,
    threads: Annotated[
        int | None, typer.Option("--threads", "-t", help="threads per replica")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="require this Bearer key")
    ] = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Serve the OpenAI-compatible API from autoscaled engine replicas (Ray Serve)."""
    from causerie.cli.cluster import run_cluster_serve
    from causerie.cluster.config import ClusterOptions

    settings = settings_from(
        config,
        host=host,
        port=port,
        model=model,
        ctx_size=ctx_size,
        parallel=parallel,
        threads=threads,
        api_key=api_key,
        data_dir=data_dir,
    )
    options = ClusterOptions(
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        initial_replicas=initial_replicas,
        cpus_per_replica=cpus_per_replica,
        target_ongoing_requests=target_ongoing_requests,
        upscale_delay_s=upscale_delay_s,
        downscale_delay_s=downscale_delay_s,
        session_affinity=session_affinity,
        name=name,
    )
    run_cluster_serve(settings, options, address=address, num_cpus=num_cpus, temp_dir=temp_dir)


@cluster_app.command("status")
@one_line_errors
def cluster_status(address: AddressOpt = "auto", name: AppNameOpt = "causerie") -> None:
    """Show the Causerie deployment on a running Ray cluster and its replicas."""
    from causerie.cli.cluster import run_cluster_status
    from causerie.cli.common import fail

    if not run_cluster_status(address, name):
        fail(f"no application {name!r} on the Ray cluster {address!r}")


docs_app = typer.Typer(help="Documents for grounded answers.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")
UserOpt = Annotated[
    str | None, typer.Option("--user", help="whose documents (e-mail); default: the only account")
]


@docs_app.command("add")
@one_line_errors
def docs_add(
    paths: Annotated[list[Path], typer.Argument(help="files to add (PDF, DOCX, Markdown, …)")],
    collection: Annotated[
        str | None, typer.Option("--collection", help="file them in this collection")
    ] = None,
    user: UserOpt = None,
    database_url: DatabaseUrlOpt = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Read and index files into the local database, with a progress bar."""
    from causerie.cli.docs import run_add

    settings = settings_from(config, data_dir=data_dir, database_url=database_url)
    run_add(settings, paths, collection, user)


@docs_app.command("list")
@one_line_errors
def docs_list(
    user: UserOpt = None,
    database_url: DatabaseUrlOpt = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """List the documents: id, status, chunks, size, name."""
    from causerie.cli.docs import run_list

    run_list(settings_from(config, data_dir=data_dir, database_url=database_url), user)


@docs_app.command("rm")
@one_line_errors
def docs_rm(
    document_ids: Annotated[list[str], typer.Argument(help="ids from `causerie docs list`")],
    user: UserOpt = None,
    database_url: DatabaseUrlOpt = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Delete documents, their chunks and their stored files."""
    from causerie.cli.docs import run_rm

    settings = settings_from(config, data_dir=data_dir, database_url=database_url)
    run_rm(settings, document_ids, user)


def main() -> None:
    app()
