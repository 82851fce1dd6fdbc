"""Ray Serve glue: join or start a Ray cluster, deploy `EngineReplica`, report, tear down.

Ray is imported inside these functions only. Usage statistics are off (Causerie makes no
network call of its own accord). A local cluster started here is ours to shut down; on a
cluster we joined, we delete only our application.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from causerie.cluster.config import (
    DEPLOYMENT_NAME,
    ClusterOptions,
    deployment_options,
    settings_payload,
)
from causerie.cluster.replica import EngineReplica
from causerie.core.errors import ConfigurationError, EngineError
from causerie.core.settings import Settings

if TYPE_CHECKING:
    from ray.serve import Deployment


@dataclass(frozen=True)
class RayConnection:
    address: str  # the GCS address other drivers join with (`--address`)
    local: bool  # True when this process started the cluster (and must stop it)


@dataclass(frozen=True)
class DeploymentStatus:
    app: str
    app_status: str
    deployment: str
    deployment_status: str
    replicas: dict[str, int]
    message: str


def _no_usage_stats() -> None:
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def _token_auth_if_available(address: str) -> None:
    """Ray turns token auth on by itself for `local` and `auto` only; joining HOST:PORT with
    a token at hand (`RAY_AUTH_TOKEN`, `RAY_AUTH_TOKEN_PATH`, `~/.ray/auth_token`) uses it
    too, unless `RAY_AUTH_MODE` says otherwise."""
    if address in ("local", "auto") or "RAY_AUTH_MODE" in os.environ:
        return
    has_token = "RAY_AUTH_TOKEN" in os.environ or "RAY_AUTH_TOKEN_PATH" in os.environ
    if has_token or (Path.home() / ".ray" / "auth_token").is_file():
        os.environ["RAY_AUTH_MODE"] = "token"


def connect(
    address: str, *, num_cpus: int | None = None, temp_dir: Path | None = None
) -> RayConnection:
    """`local` starts a Ray cluster in this process; `auto` or `HOST:PORT` joins one."""
    _no_usage_stats()
    _token_auth_if_available(address)
    import ray

    kwargs: dict[str, Any] = {
        "address": address,
        "include_dashboard": False,
        "logging_level": logging.WARNING,
        "log_to_driver": False,
        "namespace": "causerie",
    }
    if address == "local":
        kwargs["num_cpus"] = num_cpus
        if temp_dir is not None:
            kwargs["_temp_dir"] = str(temp_dir)
    elif num_cpus is not None or temp_dir is not None:
        raise ConfigurationError("--num-cpus and --temp-dir apply to --address local only")
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise ConfigurationError(
            f"cannot start or join the Ray cluster {address!r}: {exc}"
        ) from exc
    return RayConnection(str(ray.get_runtime_context().gcs_address), address == "local")


def build_deployment(settings: Settings, options: ClusterOptions) -> Deployment:
    """The Ray Serve deployment of `EngineReplica` (nothing runs until it is bound and run)."""
    from ray import serve

    deployment: Deployment = serve.deployment(**deployment_options(settings, options))(
        serve.ingress()(EngineReplica)
    )
    return deployment


def deploy(
    settings: Settings, options: ClusterOptions, *, host: str = "127.0.0.1", port: int = 8000
) -> str:
    """Deploy the replicas behind Ray Serve's HTTP proxy and wait until they serve.

    `settings` must come from `replica_settings`. Returns the proxy's base URL."""
    from ray import serve

    logging.getLogger("ray.serve").setLevel(logging.WARNING)  # after the import that sets it
    serve.start(
        http_options={"host": host, "port": port},
        logging_config={"log_level": "WARNING", "enable_access_log": False},
    )
    try:
        serve.run(
            build_deployment(settings, options).bind(settings_payload(settings)),
            name=options.name,
            route_prefix="/",
            logging_config={"log_level": "WARNING", "enable_access_log": False},
        )
    except RuntimeError as exc:
        reason = _failure(options.name) or str(exc)
        raise EngineError(f"the Ray Serve deployment failed: {reason}") from exc
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _name(value: object) -> str:
    return str(getattr(value, "value", value))  # Ray's str-enums print as `Class.MEMBER`


def status(name: str | None = None) -> list[DeploymentStatus]:
    """The applications on the joined cluster (or only `name`) and their replica counts."""
    from ray import serve

    rows: list[DeploymentStatus] = []
    for app_name, app in serve.status().applications.items():
        if name is not None and app_name != name:
            continue
        for dep_name, dep in app.deployments.items():
            rows.append(
                DeploymentStatus(
                    app=app_name,
                    app_status=_name(app.status),
                    deployment=dep_name,
                    deployment_status=_name(dep.status),
                    replicas={_name(state): count for state, count in dep.replica_states.items()},
                    message=dep.message or app.message,
                )
            )
    return rows


def _failure(name: str) -> str | None:
    """The last line of a failed deployment's message: the replica's own exception."""
    for row in status(name):
        lines = [line.strip() for line in row.message.splitlines() if line.strip()]
        if row.deployment_status != "HEALTHY" and lines:
            return lines[-1]
    return None


def running_replicas(name: str) -> int:
    for row in status(name):
        if row.deployment == DEPLOYMENT_NAME:
            return row.replicas.get("RUNNING", 0)
    return 0


def teardown(connection: RayConnection, name: str) -> None:
    """Delete our application; stop Serve and Ray too when we started the cluster."""
    import ray
    from ray import serve

    try:
        if connection.local:
            serve.shutdown()  # type: ignore[no-untyped-call]
        else:
            serve.delete(name)
    finally:
        ray.shutdown()


def disconnect() -> None:
    import ray

    ray.shutdown()
