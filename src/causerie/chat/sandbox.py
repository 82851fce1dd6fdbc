"""A Python code interpreter for tools: untrusted code runs in its own process with a
minimal environment, CPU/memory/file/time limits, killed at its time limit. Where Linux
namespaces allow it (`unshare -rmn`) it runs chrooted in a jail that holds only read-only
system and Python files plus its own temporary directory, with no network at all; an audit
hook (`sandbox_boot`) also refuses sockets, processes, ctypes and outside files everywhere.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

BOOT = Path(__file__).with_name("sandbox_boot.py")
READ_ONLY = ("/usr", "/lib", "/lib64", "/bin")
DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom")


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    time_s: float = 10.0
    memory_bytes: int = 512 << 20
    file_bytes: int = 16 << 20
    open_files: int = 64
    output_chars: int = 32 << 10


@dataclass(frozen=True, slots=True)
class SandboxResult:
    stdout: str
    stderr: str
    exit_code: int | None  # None: killed at the time limit
    timed_out: bool
    isolation: str  # "jail" (namespaces + chroot), "network" (network namespace) or "hook"


def _python() -> tuple[str, str]:
    """The real interpreter (not a venv link) and the prefix holding its standard library."""
    return os.path.realpath(sys.executable), sys.base_prefix


def _env(home: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": home, "TMPDIR": home, "LANG": "C.UTF-8"}


def _jail_script(root: Path, work: Path, argv: list[str], mount: str, chroot: str) -> str:
    """Shell run inside new user/mount/network namespaces: build the jail, chroot, exec."""
    _, prefix = _python()
    lines = ["set -e"]
    for path in (*READ_ONLY, prefix):
        if os.path.isdir(path):
            target = shlex.quote(str(root) + path)
            lines += [
                f"mkdir -p {target}",
                f"{mount} --bind {shlex.quote(path)} {target}",
                f"{mount} -o remount,bind,ro {target}",
            ]
    for device in DEVICES:
        target = shlex.quote(str(root) + device)
        lines += [f"mkdir -p {shlex.quote(str(root) + '/dev')}", f"touch {target}",
                  f"{mount} --bind {device} {target}"]  # fmt: skip
    lines += [
        f"mkdir -p {shlex.quote(str(root))}/work",
        f"{mount} --bind {shlex.quote(str(work))} {shlex.quote(str(root))}/work",
        f"exec {chroot} {shlex.quote(str(root))} /usr/bin/env -i --chdir=/work "
        + " ".join(shlex.quote(f"{k}={v}") for k, v in _env("/work").items())
        + " "
        + " ".join(shlex.quote(a) for a in argv),
    ]
    return "\n".join(lines)


def _tools() -> tuple[str, str, str, str] | None:
    search = os.pathsep.join((os.environ.get("PATH", ""), "/usr/sbin", "/sbin"))
    found = [shutil.which(t, path=search) for t in ("unshare", "mount", "chroot", "sh")]
    if any(t is None for t in found):
        return None
    return found[0] or "", found[1] or "", found[2] or "", found[3] or ""


@functools.cache
def isolation_level() -> str:
    """The strongest isolation this system allows, probed once."""
    tools = _tools()
    if tools is None:
        return "hook"
    probe = run_python("print('ok')", SandboxLimits(time_s=10), isolation="jail")
    if probe.stdout.strip() == "ok":
        return "jail"
    try:
        net = subprocess.run([tools[0], "-rn", "true"], capture_output=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return "hook"
    return "network" if net.returncode == 0 else "hook"


def _head(path: Path, chars: int) -> bytes:
    """The start of an output file: enough bytes for `chars` characters and a clip mark."""
    with path.open("rb") as file:
        return file.read(4 * chars + 4)


def _clip(data: bytes, limit: int) -> str:
    text = data.decode("utf-8", "replace").replace("\x00", "\ufffd")  # no NUL in the database
    return text if len(text) <= limit else text[:limit] + "\n[output truncated]"


def run_python(
    code: str, limits: SandboxLimits = SandboxLimits(), *, isolation: str | None = None
) -> SandboxResult:
    """Run `code` as `main.py` in a throwaway directory; blocking (use a thread from async).
    `isolation` forces a level weaker than `isolation_level()` (for tests)."""
    level = isolation or isolation_level()
    tools = _tools()
    with tempfile.TemporaryDirectory(prefix="causerie-sandbox-") as scratch:
        work = Path(scratch, "work")
        work.mkdir()
        (work / "main.py").write_text(code, encoding="utf-8")
        python, _ = _python()
        cpu = max(1, int(limits.time_s + 1))
        argv = [
            python, "-I", "-S", "-B", "-c", BOOT.read_text(encoding="utf-8"),
            str(cpu), str(limits.memory_bytes), str(limits.file_bytes), str(limits.open_files),
        ]  # fmt: skip
        if tools is not None and level == "jail":
            script = _jail_script(Path(scratch, "jail"), work, argv, tools[1], tools[2])
            command = [tools[0], "-rmn", "--", tools[3], "-c", script]
        elif tools is not None and level == "network":
            command = [tools[0], "-rn", "--", *argv]
        else:
            command, level = argv, "hook"
        home = "/work" if level == "jail" else str(work)
        env = _env(home)
        # output goes to files outside the work directory, bounded by the child's own file
        # size limit (RLIMIT_FSIZE): a flood of prints never reaches Causerie's memory
        out_path, err_path = Path(scratch, "stdout"), Path(scratch, "stderr")
        with out_path.open("wb") as out_file, err_path.open("wb") as err_file:
            process = subprocess.Popen(
                command,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out_file,
                stderr=err_file,
                start_new_session=True,
            )
        timed_out = False
        try:
            process.wait(timeout=limits.time_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        out, err = _head(out_path, limits.output_chars), _head(err_path, limits.output_chars)
        return SandboxResult(
            stdout=_clip(out, limits.output_chars),
            stderr=_clip(err, limits.output_chars),
            exit_code=None if timed_out else process.returncode,
            timed_out=timed_out,
            isolation=level,
        )
