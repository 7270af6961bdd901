"""One training process per run directory: a lock held for the whole of ``train``.

Two trainings on one run directory would resume from each other's checkpoints, write
the same epochs twice and race on the checkpoint files. :func:`hold` prevents that
with two layers, both kept in ``RUN/.lock``:

1. **An OS advisory lock** (``flock``) on the file. The operating system drops it
   when the process ends in any way (``kill -9`` and power loss included), so a lock
   file left behind by a dead process never blocks anybody: the next ``train`` simply
   takes the lock and rewrites the file.
2. **A holder record** in the file (pid, host, start time, command and a heartbeat the
   holder refreshes every :data:`HEARTBEAT_SECONDS`). It names the holder in the
   error a second ``train`` gets, and it covers what ``flock`` cannot: a file system
   that does not share locks between machines (NFS mounted ``nolock``, some FUSE
   mounts) or does not support them at all. A record from another host whose
   heartbeat is younger than :data:`STALE_SECONDS` refuses the run even when
   ``flock`` succeeded; an older one is stale (that machine stopped) and is taken
   over. Where ``flock`` fails outright, a record on this host counts while its pid
   lives and its heartbeat is fresh.

Only training takes the lock: ``sample``, ``evaluate``, ``export`` and ``gif`` read a
running run freely (every file they read is replaced atomically). Under
``multi_worker`` only the chief takes it, so the workers that share the directory by
design keep working. A clean exit deletes the file (and the run directory, when this
process created it and nothing else was written).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import threading
import time

from gan_tf.errors import RunLockedError, RunWriteError

try:
    import fcntl
except ImportError:  # Windows: the holder record alone guards the run
    fcntl = None

__all__ = ["HEARTBEAT_SECONDS", "LOCK_FILE", "RunLock", "STALE_SECONDS", "hold", "holder"]

LOCK_FILE = ".lock"
HEARTBEAT_SECONDS = 30.0  # how often the holder refreshes its record
STALE_SECONDS = 120.0  # a record whose heartbeat is older than this is a dead holder's
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL}


def holder(run_dir: str) -> dict | None:
    """The record of whoever holds (or last held) ``run_dir``'s lock: ``pid``, ``host``,
    ``started``, ``command``, ``heartbeat`` (Unix time); ``None`` without a readable one."""
    try:
        with open(os.path.join(run_dir, LOCK_FILE), encoding="utf-8") as handle:
            return _parse(handle.read())
    except OSError:
        return None


def _parse(text: str) -> dict | None:
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _read(fd: int) -> str:
    """The lock file's text (a record is far below 64 KiB)."""
    os.lseek(fd, 0, os.SEEK_SET)
    return os.read(fd, 1 << 16).decode("utf-8", "replace")


def _alive_here(pid) -> bool:
    """Whether process ``pid`` exists on this machine (on Windows, where signal 0
    would end the process, it is assumed to: the heartbeat decides)."""
    if os.name == "nt":
        return True
    try:
        os.kill(int(pid), 0)
    except PermissionError:  # exists, owned by another user
        return True
    except (OSError, ValueError, TypeError, OverflowError):
        return False
    return True


def _fresh(record: dict) -> bool:
    try:
        return time.time() - float(record.get("heartbeat", 0)) < STALE_SECONDS
    except (TypeError, ValueError):
        return False


class RunLock:
    """The training lock of ``run_dir`` (see the module docstring); use :func:`hold`.

    Args:
      run_dir: the run directory (created if missing; removed again on release when
        it was created here and holds nothing else).
    """

    def __init__(self, run_dir: str):
        self.run_dir = run_dir
        self.path = os.path.join(run_dir, LOCK_FILE)
        self._fd = None
        self._created_dir = False
        self._stop = threading.Event()
        self._heartbeat = None
        self.record = None

    def acquire(self) -> None:
        """Takes the lock.

        Raises:
          RunLockedError: another live process holds it (the message names it).
          RunWriteError: the run directory or the lock file cannot be created.
        """
        try:
            parent = os.path.dirname(os.path.abspath(self.run_dir))
            os.makedirs(parent, exist_ok=True)
            try:
                os.mkdir(self.run_dir)
                self._created_dir = True
            except FileExistsError:  # an existing run, or another train creating it now
                pass
            self._fd = self._lock_file()
            self._write_record(started=True)
        except RunWriteError:
            self._undo()
            raise
        except OSError as error:  # no permission, a full disk
            self._undo()
            raise RunWriteError(
                f"could not create {self.path} ({error.strerror or error}); fix the "
                "permissions of output_dir, free disk space or choose another output_dir",
                "output_dir",
            ) from None
        except BaseException:
            self._undo()
            raise
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name="gan_tf-run-lock", daemon=True)
        self._heartbeat.start()

    def _undo(self) -> None:
        """Drops what :meth:`acquire` made: the lock file if it is still ours (deleted
        while locked, so a waiter retries on a new file), the descriptor (and with it
        the lock), the run directory if it was created here and is empty."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                if _same_file(self._fd, self.path):
                    os.remove(self.path)
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        if self._created_dir:
            with contextlib.suppress(OSError):
                os.rmdir(self.run_dir)  # only if empty
            self._created_dir = False

    def _lock_file(self) -> int:
        """Opens and locks the file at ``self.path`` (retried when a releasing holder
        deleted it between our open and our lock), checking the record of the last
        holder; returns the descriptor."""
        for _ in range(100):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                flocked = self._flock(fd)
                if not _same_file(fd, self.path):
                    os.close(fd)
                    continue
                previous = _parse(_read(fd))
                if previous and self._held_elsewhere(previous, flocked):
                    raise RunLockedError(_locked_message(self.run_dir, previous), "output_dir")
                return fd
            except BaseException:
                with contextlib.suppress(OSError):
                    os.close(fd)
                raise
        raise RunWriteError(
            f"{self.path} keeps changing under the lock (a file system whose files change "
            "identity); choose an output_dir on another file system",
            "output_dir",
        )

    def _flock(self, fd: int) -> bool:
        """Locks ``fd`` without waiting: True when locked, False where the file system
        cannot lock; raises :class:`RunLockedError` when another process holds it."""
        if fcntl is None:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            if error.errno in _NO_LOCKS:
                return False
            if error.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                text = _read(fd)
                raise RunLockedError(
                    _locked_message(self.run_dir, _parse(text)), "output_dir"
                ) from None
            raise
        return True

    @staticmethod
    def _held_elsewhere(record: dict, flocked: bool) -> bool:
        """Whether the last holder's record still counts although we got the file: a
        fresh heartbeat from another host (its lock is invisible here), or, where the
        file system cannot lock, a fresh one from a live process of this host."""
        if not _fresh(record):
            return False
        if record.get("host") != socket.gethostname():
            return True
        return not flocked and record.get("pid") != os.getpid() and _alive_here(record.get("pid"))

    def _write_record(self, started: bool = False) -> None:
        now = time.time()
        if started or self.record is None:
            self.record = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now)),
                "command": " ".join(sys.argv)[:300],
            }
        self.record["heartbeat"] = now
        text = json.dumps(self.record).encode("utf-8")
        # Overwritten in place, padded with spaces (valid JSON) to at least the old length
        # and never truncated to 0 first, so a reader never sees an empty record.
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.write(self._fd, text.ljust(os.fstat(self._fd).st_size))
        if started:  # drop the padding left by an earlier, longer record
            os.ftruncate(self._fd, len(text))

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            with contextlib.suppress(OSError, TypeError):  # a full disk must not end the run
                self._write_record()

    def _stop_heartbeat(self) -> None:
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=5)
            self._heartbeat = None

    def moved_to(self, old_location: str) -> None:
        """After the run directory was renamed to ``old_location`` (``restart``) with
        the lock inside it: locks the new ``run_dir``, then drops the old lock. If
        another ``train`` took the new directory in that instant, this raises
        :class:`RunLockedError` (the old files are safe in ``old_location``)."""
        old_fd, old_path = self._fd, os.path.join(old_location, LOCK_FILE)
        self._stop_heartbeat()
        self._created_dir, self._fd = False, None  # the old descriptor is closed below
        try:
            self.acquire()
        finally:
            with contextlib.suppress(OSError):
                os.remove(old_path)
            with contextlib.suppress(OSError):
                os.close(old_fd)

    def release(self) -> None:
        """Drops the lock and deletes its file (and the run directory when this lock
        created it and it holds nothing else). Safe to call twice."""
        if self._fd is None:
            return
        self._stop_heartbeat()
        self._undo()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def _same_file(fd: int, path: str) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _locked_message(run_dir: str, record: dict | None) -> str:
    if not record:
        who, stop = "another process", "stop it"
    else:
        pid, host = record.get("pid", "?"), record.get("host", "?")
        here = host == socket.gethostname()
        who = f"process {pid} on {'this machine' if here else 'host ' + str(host)}"
        if record.get("started"):
            who += f" (since {record['started']}"
            who += f": {record['command']})" if record.get("command") else ")"
        stop = f"stop it (kill {pid}: it saves a checkpoint first)" if here else "stop it there"
    return (
        f"{run_dir} is being trained by {who}; wait for it to finish or {stop} and rerun "
        "this command to resume, or train into another output_dir"
    )


@contextlib.contextmanager
def hold(run_dir: str, enabled: bool = True):
    """Holds ``run_dir``'s training lock for the ``with`` block (nothing when not
    ``enabled``, e.g. on a ``multi_worker`` worker that is not the chief); yields the
    :class:`RunLock` (or ``None``).

    Raises:
      RunLockedError: another live process is training this run directory.
      RunWriteError: the run directory cannot be created.
    """
    if not enabled:
        yield None
        return
    lock = RunLock(run_dir)
    lock.acquire()
    try:
        yield lock
    finally:
        lock.release()
