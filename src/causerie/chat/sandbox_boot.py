"""Runs inside the sandbox process (`python -I -S -B -c <this file> LIMITS...`), never
imported by Causerie: sets its own resource limits, installs an audit hook that confines
files to the working directory (the standard library stays readable), refuses sockets,
processes, threads, ctypes and frame/gc introspection, then runs `main.py`. Audit hooks
are a second wall, not a boundary (PEP 578): the jail of `sandbox.py` is the first.
"""

from __future__ import annotations

import os
import pathlib
import resource
import sys
from typing import Any

BLOCKED = {
    "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty",
    "os.kill", "os.killpg", "subprocess.Popen", "pty.spawn", "sys.remote_exec",
    "webbrowser.open", "os.add_dll_directory", "sys.unraisablehook",
    "sys._current_frames", "sys.settrace", "sys.setprofile", "gc.get_objects",
    "gc.get_referrers", "gc.get_referents", "_thread.start_new_thread", "sys.addaudithook",
    "function.__new__", "code.__new__", "os.chroot",
}  # fmt: skip
BLOCKED_PREFIXES = ("socket.", "ctypes.", "_ctypes.", "mmap.", "winreg.", "fcntl.ioctl")
BLOCKED_MODULES = {"_ctypes", "ctypes", "_posixsubprocess"}
PATH_EVENTS = {
    "os.listdir", "os.scandir", "os.chdir", "os.remove", "os.rename", "os.rmdir",
    "os.mkdir", "os.chmod", "os.chown", "os.truncate", "os.symlink", "os.link",
    "os.utime", "os.chflags", "os.lchflags", "os.setxattr", "os.removexattr",
    "os.listxattr", "os.getxattr", "shutil.rmtree", "shutil.copyfile", "shutil.move",
    "glob.glob", "glob.glob/2", "os.mkfifo", "os.mknod",
}  # fmt: skip
READ_ONLY_EVENTS = frozenset(
    {"os.listdir", "os.scandir", "os.chdir", "os.listxattr", "os.getxattr"}
)
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _limit(kind: int, value: int) -> None:
    """Lower a limit (never raise it); failing to set one stops the sandbox."""
    hard = resource.getrlimit(kind)[1]
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(kind, (value, value))


def _confine(home: str, readable: tuple[str, ...]) -> None:
    """Install the audit hook. Everything it uses is captured here, as C functions and
    frozen values, so that code which monkeypatches modules or builtins cannot steer it."""
    lstat, readlink, getcwd, fspath = os.lstat, os.readlink, os.getcwd, os.fspath
    is_a, kind, to_str, denied, no_module = isinstance, type, str, PermissionError, ImportError
    raw, integer = bytes, int
    path_types = (pathlib.PurePosixPath, pathlib.PosixPath)
    guarded_types = frozenset((pathlib.PurePath, *path_types))
    blocked, prefixes, modules = frozenset(BLOCKED), BLOCKED_PREFIXES, frozenset(BLOCKED_MODULES)
    path_events, read_events, write_flags = frozenset(PATH_EVENTS), READ_ONLY_EVENTS, WRITE_FLAGS

    def text(path: Any) -> str:
        value: str
        if kind(path) is raw:  # exact types: a subclass could change its mind
            value = path.decode("utf-8", "surrogateescape")
        elif kind(path) is to_str:
            value = path
        elif kind(path) in path_types:
            value = to_str(fspath(path))
        else:
            raise denied("sandbox: paths must be str, bytes or pathlib paths")
        return value

    def resolve(path: str, hops: int = 0) -> str:
        """Absolute path with `..` and symlinks resolved, using only captured C calls."""
        if not path.startswith("/"):
            path = getcwd() + "/" + path
        parts: list[str] = []
        for part in path.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(part)
            current = "/" + "/".join(parts)
            try:
                is_link = (lstat(current).st_mode & 0o170000) == 0o120000
            except OSError:
                continue
            if is_link:
                if hops > 40:
                    raise denied("sandbox: too many symbolic links")
                target = readlink(current)
                base = "/" + "/".join(parts[:-1])
                target = target if target.startswith("/") else base + "/" + target
                parts = resolve(target, hops + 1).split("/")[1:]
        return "/" + "/".join(p for p in parts if p)

    def inside(path: Any, roots: tuple[str, ...]) -> bool:
        if kind(path) is integer:
            return True  # a descriptor this process already opened
        real = resolve(text(path))
        for root in roots:  # noqa: SIM110 - no builtins (any) in here: they can be replaced
            if real == root or real.startswith(root + "/"):
                return True
        return False

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            path, mode, flags = args
            if path is None:
                return
            writing = is_a(mode, to_str) and ("w" in mode or "a" in mode or "x" in mode
                                              or "+" in mode)  # fmt: skip
            writing = writing or ((flags or 0) & write_flags) != 0
            if not inside(path, (home,) if writing else (home, *readable)):
                raise denied(f"sandbox: no access to {text(path)}")
        elif event in path_events:
            roots = (home, *readable) if event in read_events else (home,)
            two = event in ("os.rename", "os.link", "os.symlink", "shutil.copyfile", "shutil.move")
            for path in args[:2] if two else args[:1]:
                if path is not None and not inside(path, roots):
                    raise denied(f"sandbox: no access to {text(path)}")
        elif event == "import":
            if args[0] in modules:
                raise no_module(f"sandbox: module {args[0]} is not available")
        elif event == "object.__setattr__":
            if args[0] in guarded_types:
                raise denied("sandbox: pathlib classes are read-only")
        elif event in blocked or event.startswith(prefixes):
            raise denied(f"sandbox: {event} is not allowed")

    sys.addaudithook(hook)


def main() -> None:
    cpu_s, memory, file_size, open_files = (int(v) for v in sys.argv[1:5])
    _limit(resource.RLIMIT_CPU, cpu_s)
    _limit(resource.RLIMIT_AS, memory)
    _limit(resource.RLIMIT_FSIZE, file_size)
    _limit(resource.RLIMIT_NOFILE, open_files)
    _limit(resource.RLIMIT_CORE, 0)
    home = os.path.realpath(os.getcwd())
    readable = tuple(os.path.realpath(p) for p in sys.path if p and os.path.isdir(p))
    with open(os.path.join(home, "main.py"), encoding="utf-8") as source_file:
        source = source_file.read()
    code = compile(source, "main.py", "exec")
    _confine(home, readable)
    exec(code, {"__name__": "__main__", "__builtins__": __builtins__})


if __name__ == "__main__":
    main()
