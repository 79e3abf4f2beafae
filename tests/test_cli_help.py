"""`inv --help <task>` is complete: every task has a docstring and every flag a help text (issue 6)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def _namespace():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("airlock_tasks_under_test", REPO / "tasks.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.ns


NS = _namespace()
TASKS = sorted(NS.task_names)


def test_the_issue_named_tasks_are_listed() -> None:
    assert {"presets", "lock", "sync", "verify", "build", "report", "smoke", "docs", "bench"} <= set(TASKS)


@pytest.mark.parametrize("name", TASKS)
def test_every_flag_of_every_task_has_help(name: str) -> None:
    """Each argument Invoke derives from the task's signature has a non-empty help text, and the task a docstring."""
    task = NS[name]
    assert (task.__doc__ or "").strip(), f"inv {name}: no docstring"
    args = [a for a in task.get_arguments() if a.name != "help"]
    missing = [a.name for a in args if not (a.help or "").strip()]
    assert not missing, f"inv {name}: flags without help: {missing}"
    unknown = set(task.help) - {a.name for a in args} - {a.name.replace("_", "-") for a in args}
    assert not unknown, f"inv {name}: help for flags that do not exist: {unknown}"


@pytest.mark.parametrize("name", TASKS)
def test_inv_help_prints_every_flag(name: str) -> None:
    """The real `inv --help <task>` shows each long flag (what a user actually reads)."""
    proc = subprocess.run([str(Path(sys.executable).with_name("inv")), "--help", name], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for a in NS[name].get_arguments():
        flag = "--" + a.name.replace("_", "-")
        assert flag in proc.stdout, f"inv --help {name} lacks {flag}:\n{proc.stdout}"
