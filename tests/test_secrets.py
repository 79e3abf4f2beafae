"""Secrets: which names look secret, names are shell identifiers, build args refused, .env read without touching os.environ."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from airlock.errors import InputError, PresetError
from airlock.presets import load_preset_file
from airlock.project import Project
from airlock.secrets import check_build_args, is_secret_name, load_env, looks_secret
from tests.conftest import DEMO, REPO


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


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("GITHUB_TOKEN", True),
        ("_private", True),
        ("a1", True),
        ("MY-TOKEN", False),
        ("1TOKEN", False),
        ("A B", False),
        ("$(id)", False),
        ("X;rm", False),
        ("T\n", False),
        ("", False),
        ("TOKÉN", False),
    ],
)
def test_secret_names_are_shell_identifiers(name: str, ok: bool) -> None:
    """A secret's name is [A-Za-z_][A-Za-z0-9_]*: docker/build-app sources the secrets as shell."""
    assert is_secret_name(name) is ok


@pytest.mark.parametrize("bad", ["MY-TOKEN", "1X", "A B", "$(touch /tmp/x)"])
def test_bad_secret_name_fails_at_preset_load_naming_the_field(tmp_path: Path, bad: str) -> None:
    """A preset whose app.secrets holds a non-identifier fails when it loads: file, app.secrets[i] and the name, exit 2."""
    data = json.loads((REPO / "presets" / f"{DEMO}.json").read_text())
    data["app"]["secrets"] = ["GITHUB_TOKEN", bad]
    path = tmp_path / f"{DEMO}.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PresetError) as exc:
        load_preset_file(path)
    assert exc.value.field == "app.secrets[1]"
    assert str(exc.value).startswith(f"{path}: app.secrets[1]: {bad!r} is not a shell variable name")
    assert exc.value.exit_code == 2


@pytest.mark.parametrize("reserved", ["PREFIX", "PATH", "IFS", "LD_PRELOAD"])
def test_a_secret_named_like_the_build_steps_own_variables_is_refused(tmp_path: Path, reserved: str) -> None:
    """docker/build-app sets PREFIX, PYTHON, ... after reading the secrets, and PATH/IFS/LD_PRELOAD change its shell: such a secret fails at load."""
    data = json.loads((REPO / "presets" / f"{DEMO}.json").read_text())
    data["app"]["secrets"] = [reserved]
    path = tmp_path / f"{DEMO}.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PresetError) as exc:
        load_preset_file(path)
    assert exc.value.field == "app.secrets[0]" and f"{reserved!r} is reserved (docker/build-app sets it" in str(exc.value)


def test_bad_name_in_env_names_the_file_and_line(tmp_path: Path) -> None:
    """A .env name that is not a shell identifier is an InputError naming .env, the line and the name."""
    (tmp_path / "presets").mkdir()
    (tmp_path / ".env").write_text("# c\nGITHUB_TOKEN=a\nexport OK_2=b\nMY-TOKEN=c\n")
    with pytest.raises(InputError, match=r"\.env: line 4: 'MY-TOKEN' is not a shell variable name") as exc:
        load_env(Project(tmp_path))
    assert exc.value.exit_code == 2
    (tmp_path / ".env").write_text("GITHUB_TOKEN=a\nexport OK_2=b\n")
    assert load_env(Project(tmp_path)) == {"GITHUB_TOKEN": "a", "OK_2": "b"}
