"""`causerie cluster serve | status`: engine replicas as a Ray Serve deployment.

`serve` blocks until SIGINT/SIGTERM, then deletes its application (and stops the Ray
cluster when it started one with `--address local`). /v1 is always protected: without
`--api-key`, the server key of the data directory is used, as by `causerie serve`.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from types import FrameType

import typer

from causerie.cli.serve import server_key
from causerie.cluster.config import ClusterOptions, replica_settings
from causerie.core.errors import ConfigurationError
from causerie.core.settings import Settings


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def run_cluster_serve(
    settings: Settings,
    options: ClusterOptions,
    *,
    address: str,
    num_cpus: int | None = None,
    temp_dir: Path | None = None,
) -> None:
    from causerie.cluster import ray_serve

    options.check()
    if settings.port == 0:
        raise ConfigurationError("Ray Serve needs a fixed --port (0 is not supported)")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings, generated = server_key(settings)
    settings = replica_settings(settings, options)
    stop = threading.Event()
    connection = ray_serve.connect(address, num_cpus=num_cpus, temp_dir=temp_dir)
    try:
        _stop_on_signals(stop)
        where = "started here" if connection.local else "joined"
        typer.echo(f"Ray cluster at {connection.address} ({where})")
        cpus = options.cpus_per_replica or settings.threads
        typer.echo(
            f"Deploying {options.min_replicas} to {options.max_replicas} replicas of "
            f"{settings.model or 'the bundled model'}: {settings.parallel} slots, "
            f"{settings.threads} threads, {cpus} CPUs each"
        )
        url = ray_serve.deploy(settings, options, host=settings.host, port=settings.port)
        running = ray_serve.running_replicas(options.name)
        typer.echo(
            f"Causerie cluster is ready at {url}  (OpenAI API: {url}/v1, "
            f"{running} replicas running)",
            color=False,
        )
        if generated:
            typer.echo(f"API key for {url}/v1: {generated}  (kept in {settings.data_dir}/api_key)")
        while not stop.wait(0.5):
            pass
        typer.echo("Stopping the Causerie replicas…")
    finally:
        ray_serve.teardown(connection, options.name)
    typer.echo("Stopped.")


def run_cluster_status(address: str, name: str | None) -> bool:
    """Print each deployment's state and replica counts; False when there is none."""
    from causerie.cluster import ray_serve

    ray_serve.connect(address)
    try:
        rows = ray_serve.status(name)
    finally:
        ray_serve.disconnect()
    for row in rows:
        replicas = ", ".join(f"{count} {state.lower()}" for state, count in row.replicas.items())
        typer.echo(
            f"{row.app}  {row.app_status.lower()}  {row.deployment}  "
            f"{row.deployment_status.lower()}  replicas: {replicas or 'none'}"
        )
        if row.message:
            typer.echo(f"  {row.message}")
    return bool(rows)
