"""gan_tf.runlock: one training process per run directory; dead holders never block."""

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from gan_tf import rundir, runlock
from gan_tf.errors import RunLockedError, RunWriteError

HOLD = """
import sys, time
from gan_tf import rundir, runlock
lock = runlock.RunLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(600)
"""


def start_holder(run_dir):
    """A child process holding ``run_dir``'s lock (until killed)."""
    child = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(run_dir)], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "held"
    return child


def write_record(run_dir, **fields):
    os.makedirs(run_dir, exist_ok=True)
    record = {"pid": 1, "host": socket.gethostname(), "started": "then", "command": "x"}
    record.update(fields)
    with open(os.path.join(run_dir, runlock.LOCK_FILE), "w", encoding="utf-8") as handle:
        json.dump(record, handle)


def test_a_second_lock_on_the_same_directory_is_refused_and_names_the_holder(tmp_path):
    run_dir = str(tmp_path / "run")
    with runlock.hold(run_dir) as first:
        assert first.record["pid"] == os.getpid()
        assert runlock.holder(run_dir)["pid"] == os.getpid()
        with pytest.raises(RunLockedError) as caught:
            runlock.RunLock(run_dir).acquire()
        message = str(caught.value)
        assert f"is being trained by process {os.getpid()} on this machine" in message
        assert f"kill {os.getpid()}" in message and "output_dir" in message
        assert "\n" not in message
    # released: the file is gone, and the directory this lock created too (it held nothing)
    assert not os.path.exists(run_dir)
    with runlock.hold(run_dir):  # free again
        pass


def test_release_keeps_a_directory_with_files_and_removes_only_the_lock(tmp_path):
    run_dir = tmp_path / "run"
    with runlock.hold(str(run_dir)):
        (run_dir / "config.json").write_text("{}")
    assert sorted(os.listdir(run_dir)) == ["config.json"]
    with runlock.hold(str(run_dir)):  # an existing directory is never removed
        pass
    assert sorted(os.listdir(run_dir)) == ["config.json"]


def test_another_process_holding_it_refuses_and_its_death_frees_it(tmp_path):
    run_dir = tmp_path / "run"
    child = start_holder(run_dir)
    try:
        with pytest.raises(RunLockedError, match=f"by process {child.pid} on this machine"):
            runlock.RunLock(str(run_dir)).acquire()
    finally:
        child.send_signal(signal.SIGKILL)  # kill -9: no clean-up runs
        child.wait()
    assert os.path.exists(run_dir / runlock.LOCK_FILE)  # the stale file stays behind...
    with runlock.hold(str(run_dir)) as lock:  # ...and blocks nobody
        assert runlock.holder(str(run_dir))["pid"] == os.getpid() == lock.record["pid"]


def test_a_fresh_record_from_another_host_refuses_and_a_stale_one_is_taken_over(tmp_path):
    run_dir = str(tmp_path / "run")
    write_record(run_dir, pid=4242, host="gpu-node-7", heartbeat=time.time() - 10)
    with pytest.raises(RunLockedError) as caught:
        runlock.RunLock(run_dir).acquire()
    assert "by process 4242 on host gpu-node-7 (since then: x)" in str(caught.value)
    assert "stop it there" in str(caught.value)
    write_record(run_dir, pid=4242, host="gpu-node-7", heartbeat=time.time() - 1000)
    with runlock.hold(run_dir):
        assert runlock.holder(run_dir)["host"] == socket.gethostname()


def test_garbage_in_the_lock_file_is_a_stale_record(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / runlock.LOCK_FILE).write_bytes(b"\x00\xff not json")
    with runlock.hold(str(run_dir)):
        assert runlock.holder(str(run_dir))["pid"] == os.getpid()


def test_without_os_locks_a_live_holder_of_this_host_refuses_and_a_dead_one_does_not(
    tmp_path, monkeypatch
):
    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(runlock.fcntl, "flock", no_locks)
    run_dir = str(tmp_path / "run")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        write_record(run_dir, pid=sleeper.pid, heartbeat=time.time())
        with pytest.raises(RunLockedError, match=f"process {sleeper.pid} on this machine"):
            runlock.RunLock(run_dir).acquire()
    finally:
        sleeper.kill()
        sleeper.wait()
    with runlock.hold(run_dir):  # its pid is gone: stale
        pass
    write_record(run_dir, pid=os.getppid(), heartbeat=time.time() - 1000)
    with runlock.hold(run_dir):  # alive, but no heartbeat for 1000 s: not a holder
        pass


def test_the_holder_refreshes_its_heartbeat(tmp_path, monkeypatch):
    monkeypatch.setattr(runlock, "HEARTBEAT_SECONDS", 0.05)
    run_dir = str(tmp_path / "run")
    with runlock.hold(run_dir):
        first = runlock.holder(run_dir)["heartbeat"]
        deadline = time.time() + 5
        while runlock.holder(run_dir)["heartbeat"] == first and time.time() < deadline:
            time.sleep(0.02)
        assert runlock.holder(run_dir)["heartbeat"] > first


def test_moving_the_run_aside_keeps_the_run_locked(tmp_path):
    run_dir = tmp_path / "run"
    with runlock.hold(str(run_dir)) as lock:
        (run_dir / "config.json").write_text("{}")
        moved = str(tmp_path / "run.moved-1")
        os.replace(run_dir, moved)
        lock.moved_to(moved)
        assert os.listdir(moved) == ["config.json"]  # the old lock file is gone
        with pytest.raises(RunLockedError):  # the new directory is locked
            runlock.RunLock(str(run_dir)).acquire()
    assert not os.path.exists(run_dir)


def test_holding_is_skipped_where_not_enabled(tmp_path):
    with runlock.hold(str(tmp_path / "run"), enabled=False) as lock:
        assert lock is None
    assert not os.path.exists(tmp_path / "run")


def test_a_directory_that_cannot_be_created_is_one_write_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(RunWriteError, match="could not create .*; fix the permissions"):
        runlock.RunLock(str(blocker / "run")).acquire()


def test_restart_on_a_new_directory_moves_nothing(tmp_path):
    run_dir = str(tmp_path / "run")
    with runlock.hold(run_dir):
        assert rundir.move_aside(run_dir) is None  # only our own lock is there
    assert sorted(os.listdir(tmp_path)) == []


def test_a_failed_hand_over_closes_nothing_it_does_not_own(tmp_path):
    run_dir, moved = str(tmp_path / "run"), str(tmp_path / "run.moved-1")
    lock = runlock.RunLock(run_dir)
    lock.acquire()
    os.replace(run_dir, moved)
    with runlock.hold(run_dir):  # another train takes the new directory first
        with pytest.raises(RunLockedError):
            lock.moved_to(moved)
        with open(tmp_path / "other", "w") as other:  # may reuse the old descriptor number
            lock.release()
            other.write("still open")  # a double close would have closed it


def test_a_full_disk_while_taking_the_lock_is_one_write_error_and_leaves_nothing(
    tmp_path, monkeypatch
):
    def no_space(fd, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runlock.os, "write", no_space)
    run_dir = str(tmp_path / "run")
    with pytest.raises(RunWriteError, match=r"\(No space left on device\); .*free disk space"):
        runlock.RunLock(run_dir).acquire()
    assert not os.path.exists(run_dir)
    monkeypatch.undo()
    with runlock.hold(run_dir):  # not left held
        pass
