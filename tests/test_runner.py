"""The one subprocess runner, against the real ``sys.executable -c ...``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from airlock.errors import CommandError
from airlock.runner import child_env, run

PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


def _child_environ(**kw: object) -> dict[str, str]:
    return json.loads(run([sys.executable, "-c", PRINT_ENV], **kw).stdout)  # type: ignore[arg-type]


@pytest.mark.parametrize("stream", [False, True])
def test_none_removes_a_variable_and_a_string_adds_one(monkeypatch: pytest.MonkeyPatch, stream: bool) -> None:
    """A variable mapped to None is absent in the child, one mapped to a string is present, the rest are inherited."""
    monkeypatch.setenv("AIRLOCK_TEST_DROP", "gone")
    monkeypatch.setenv("AIRLOCK_TEST_KEEP", "kept")
    env = _child_environ(env={"AIRLOCK_TEST_DROP": None, "AIRLOCK_TEST_ADD": "added"}, stream=stream)
    assert "AIRLOCK_TEST_DROP" not in env
    assert env["AIRLOCK_TEST_ADD"] == "added"
    assert env["AIRLOCK_TEST_KEEP"] == "kept"


def test_removing_an_unset_variable_is_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """None for a variable the parent lacks leaves it absent rather than failing."""
    monkeypatch.delenv("AIRLOCK_TEST_NEVER_SET", raising=False)
    assert "AIRLOCK_TEST_NEVER_SET" not in _child_environ(env={"AIRLOCK_TEST_NEVER_SET": None})


def test_child_env_applies_over_a_given_base() -> None:
    """child_env: None removes, a string replaces, no mapping at all means inherit (None)."""
    assert child_env({"A": None, "B": "2", "C": "3"}, base={"A": "1", "B": "1"}) == {"B": "2", "C": "3"}
    assert child_env(None) is None


def test_streaming_timeout_kills_a_silent_child_well_before_it_ends() -> None:
    """A streaming child that sleeps past the timeout is killed at the deadline and the error says it timed out."""
    script = "import sys, time; print('started', flush=True); time.sleep(30)"
    t0 = time.monotonic()
    with pytest.raises(CommandError) as err:
        run([sys.executable, "-c", script], stream=True, timeout=1)
    took = time.monotonic() - t0
    assert took < 10, f"took {took:.1f} s: the child was not killed at the deadline"
    assert "timed out after 1 s" in str(err.value)
    assert "started" in err.value.tail  # the output before the deadline is kept


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a killed process not yet reaped by its new parent is a zombie: not alive)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] not in ("Z", "X")


def test_streaming_timeout_kills_the_childs_own_children() -> None:
    """The whole process group is killed at the deadline: the child's own child does not outlive it."""
    grandchild = "import time; time.sleep(30)"
    script = (
        "import subprocess, sys, time; "
        f"g = subprocess.Popen([sys.executable, '-c', {grandchild!r}]); print('grandchild', g.pid, flush=True); time.sleep(30)"
    )
    with pytest.raises(CommandError, match="timed out after 1 s") as err:
        run([sys.executable, "-c", script], stream=True, timeout=1)
    pid = int(err.value.tail.split("grandchild ", 1)[1].split()[0])
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), f"grandchild {pid} still runs"


def test_streaming_timeout_kills_a_child_that_closed_its_output_but_runs_on() -> None:
    """A child that closes stdout and stderr and keeps running is still killed at the deadline, not waited for."""
    script = "import os, sys, time; print('closing', flush=True); os.close(1); os.close(2); time.sleep(30)"
    t0 = time.monotonic()
    with pytest.raises(CommandError, match="timed out after 1 s") as err:
        run([sys.executable, "-c", script], stream=True, timeout=1)
    assert time.monotonic() - t0 < 10
    assert "closing" in err.value.tail


def test_streaming_within_the_timeout_returns_the_output() -> None:
    """A streaming child that finishes in time returns its exit code and its whole output."""
    proc = run([sys.executable, "-c", "print('a'); print('b')"], stream=True, timeout=30)
    assert proc.returncode == 0 and proc.stdout.splitlines() == ["a", "b"]


def test_streaming_failure_carries_the_exit_code_and_tail() -> None:
    """A streaming child that exits non-zero raises with its code and its last lines."""
    with pytest.raises(CommandError) as err:
        run([sys.executable, "-c", "import sys; print('boom'); sys.exit(3)"], stream=True)
    assert err.value.returncode == 3 and "boom" in str(err.value)


def test_captured_timeout_says_so() -> None:
    """The captured mode's timeout also ends the child and names the limit."""
    t0 = time.monotonic()
    with pytest.raises(CommandError, match="timed out after 1 s"):
        run([sys.executable, "-c", "import time; time.sleep(30)"], timeout=1)
    assert time.monotonic() - t0 < 10
