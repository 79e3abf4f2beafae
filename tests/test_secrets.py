"""Secrets: which names look secret, build args refused, .env read without touching os.environ."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from airlock.errors import InputError
from airlock.project import Project
from airlock.secrets import check_build_args, load_env, looks_secret
from tests.conftest import REPO


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("GITHUB_TOKEN", True),
        ("github_token", True),
        ("REGISTRY_PASSWORD", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("NPM_AUTH", True),
        ("SSH_PRIVATE_KEY", True),
        ("API_KEY", True),
        ("MY_PAT", True),
        ("KEYBOARD_LAYOUT", False),
        ("PYTHON_VERSION", False),
        ("TOKENIZERS_PARALLELISM", False),
        ("BUILD_DATE", False),
        ("PATH", False),
    ],
)
def test_looks_secret_table(name: str, secret: bool) -> None:
    """Secret words count only as whole name parts."""
    assert looks_secret(name) is secret


def test_secret_looking_build_arg_is_refused() -> None:
    """check_build_args refuses GITHUB_TOKEN and names it; ordinary args pass."""
    check_build_args({"BUILD_DATE": "x"})
    with pytest.raises(InputError, match="GITHUB_TOKEN") as exc:
        check_build_args({"BUILD_DATE": "x", "GITHUB_TOKEN": "y"})
    assert exc.value.exit_code == 2


def test_env_is_read_without_changing_the_environment(tmp_path: Path) -> None:
    """load_env returns .env's values and leaves os.environ alone; no .env means {}."""
    (tmp_path / "presets").mkdir()
    proj = Project(tmp_path)
    assert load_env(proj) == {}
    (tmp_path / ".env").write_text("# comment\nGITHUB_TOKEN=abc123\nQUOTED='a b'\n")
    assert load_env(proj) == {"GITHUB_TOKEN": "abc123", "QUOTED": "a b"}
    assert "GITHUB_TOKEN" not in os.environ


def test_malformed_env_names_the_file_and_line(tmp_path: Path) -> None:
    """A line without '=' is an error naming .env and the line number."""
    (tmp_path / "presets").mkdir()
    (tmp_path / ".env").write_text("OK=1\nnot a pair\n")
    with pytest.raises(InputError, match=r"\.env: line 2"):
        load_env(Project(tmp_path))


def test_env_template_lists_every_variable_airlock_reads() -> None:
    """.env.template names every secret the shipped presets and the code use (GITHUB_TOKEN now)."""
    text = (REPO / ".env.template").read_text()
    names = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.M))
    assert {"GITHUB_TOKEN", "REGISTRY_USERNAME", "REGISTRY_PASSWORD"} <= names
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Z0-9_]+=", line):
            assert line.endswith("="), f"template carries a value: {line}"


def test_env_is_ignored_by_git() -> None:
    """.env is in .gitignore."""
    assert "/.env" in (REPO / ".gitignore").read_text().split()
