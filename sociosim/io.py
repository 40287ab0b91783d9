"""The one atomic file write every writer uses, and the one signal policy of every command that writes.

Writes: a hidden temp file beside the target, fsync, rename. A reader never sees half a
file, and a crash leaves at most a temp file whose name carries the writer's pid
(`.<name>.tmp-<pid>-<hex>`), so cleanup can tell dead writers' files. A file-system error
(full disk, read-only, no permission, a file where a folder must be) becomes one
`PathError` naming the path.

Signals: inside `terminate_as_interrupt()` SIGTERM and SIGHUP (what `kill`, `timeout`,
systemd and SLURM send) unwind like Ctrl-C (`Terminated`, a `KeyboardInterrupt`), so the
`finally` blocks that commit finished work run; `signals_deferred()` holds SIGINT, SIGTERM
and SIGHUP while a commit or a swap of files runs, and delivers them after it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any

from sociosim.errors import ScenarioError, path_error

if TYPE_CHECKING:  # only named in annotations: `sociosim --help` need not import pandas
    import pandas as pd

FRAME_SUFFIXES = (".parquet", ".csv")


def temp_path(final: Path) -> Path:
    """A unique hidden temp name beside `final`, carrying the writer's pid."""
    return final.with_name(f".{final.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def fsync_dir(path: Path) -> None:
    """Flush a directory entry to disk so a rename survives a crash (no-op where unsupported)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def fsync_file(path: Path) -> None:
    """Flush a finished file's contents to disk."""
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def atomic_write(
    path: str | Path, write: Callable[[IO[bytes]], object], *, make_parents: bool = False
) -> Path:
    """Call `write(fh)` on a temp file beside `path`, fsync it, then rename it into place."""
    path = Path(path)
    tmp = temp_path(path)
    try:
        if make_parents:
            path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise path_error(exc, path) from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    fsync_dir(path.parent)
    return path


def atomic_write_bytes(data: bytes, path: str | Path, *, make_parents: bool = False) -> Path:
    """Write bytes atomically."""
    return atomic_write(path, lambda fh: fh.write(data), make_parents=make_parents)


def atomic_write_text(path: str | Path, text: str, *, make_parents: bool = False) -> Path:
    """Write UTF-8 text atomically."""
    return atomic_write_bytes(text.encode("utf-8"), path, make_parents=make_parents)


def write_frame(df: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame to .parquet (zstd) or .csv atomically (creating its folder); the suffix picks the format."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FRAME_SUFFIXES:
        raise ScenarioError("out", f"must end in {' or '.join(FRAME_SUFFIXES)}, got {path.name!r}")
    if suffix == ".parquet":
        return atomic_write(
            path, lambda fh: df.to_parquet(fh, index=False, compression="zstd"), make_parents=True
        )
    return atomic_write(path, lambda fh: df.to_csv(fh, index=False), make_parents=True)


# --- a set of files replaced together ----------------------------------------------------------

STAGING_PREFIX = ".staging-"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (another user's counts): a writer's leftovers are stale when not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_staging(folder: Path) -> None:
    """Delete staging folders that writers killed outright (SIGKILL, power loss) left in `folder`."""
    with contextlib.suppress(OSError):
        for entry in folder.glob(f"{STAGING_PREFIX}*"):
            pid_text = entry.name.removeprefix(STAGING_PREFIX).split("-", 1)[0]
            if pid_text.isdigit() and int(pid_text) != os.getpid() and not pid_alive(int(pid_text)):
                shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def staged_files(folder: str | Path) -> Iterator[Path]:
    """A hidden staging folder inside `folder` to write a set of files into; always removed afterwards.

    Creates `folder` (a `PathError` names it if it cannot be) and first clears staging
    folders of dead writers. Call `swap_in` before leaving to move the files into place.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_staging(folder)
        staging = folder / f"{STAGING_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        staging.mkdir()
    except OSError as exc:
        raise path_error(exc, folder) from None
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def swap_in(staging: Path, folder: Path, entries: list[str], pointer: str) -> None:
    """Move `entries` (files or folders) from `staging` into `folder`, replacing the old ones.

    `pointer` (e.g. report.md) refers to the other entries: the old one is moved away
    first and the new one moved in last, so at no moment does a `pointer` in `folder` refer
    to entries of another write. Signals are held while this runs. An entry missing from
    `staging` is removed from `folder`.
    """
    old = staging / ".old"
    try:
        with signals_deferred():
            old.mkdir(exist_ok=True)
            for name in [pointer, *entries]:
                if (folder / name).exists() or (folder / name).is_symlink():
                    os.replace(folder / name, old / name)
            for name in [*entries, pointer]:
                if (staging / name).exists():
                    os.replace(staging / name, folder / name)
            fsync_dir(folder)
    except OSError as exc:
        raise path_error(exc, folder) from None


# --- signals -----------------------------------------------------------------------------------

TERMINATING = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)
HELD = (signal.SIGINT, *TERMINATING)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised like Ctrl-C so that cleanup and commits run; `signum` says which."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"terminated by {signal.Signals(signum).name}")


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP raise `Terminated` (their default kills with nothing saved).

    A handler someone else installed is left alone; outside the main thread (where Python
    cannot set handlers) nothing changes.
    """
    if not _in_main_thread():
        yield
        return
    previous = {}
    for signum in TERMINATING:
        if signal.getsignal(signum) is signal.SIG_DFL:
            previous[signum] = signal.signal(signum, _raise_terminated)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP while inside; the first that arrived is acted on at the end.

    For commits and swaps of files that must not stop half-way. On leaving, a held signal
    is passed to the handler that was in force (raising KeyboardInterrupt or `Terminated`),
    or, for a default action, re-sent to this process.
    """
    if not _in_main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: FrameType | None) -> None:
        held.append(signum)

    previous: dict[int, Any] = {signum: signal.signal(signum, hold) for signum in HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if held:
            _deliver(held[0], previous[held[0]])


def _deliver(signum: int, handler: Any) -> None:
    """Act on a held signal as its handler would have."""
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)


__all__ = [
    "HELD",
    "TERMINATING",
    "Terminated",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "fsync_dir",
    "fsync_file",
    "remove_stale_staging",
    "signals_deferred",
    "staged_files",
    "swap_in",
    "temp_path",
    "terminate_as_interrupt",
    "write_frame",
]
