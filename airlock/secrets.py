"""Secrets: read from ``.env`` with python-dotenv, handed to a build only as a BuildKit secret.

- ``.env`` is parsed with ``dotenv_values`` and never loaded into ``os.environ``.
- A secret reaches a build only through ``RUN --mount=type=secret`` in the application
  build step, and only the names the preset lists in ``app.secrets``.
- Build arguments whose names look like secrets are refused: build arguments show in
  ``docker history`` and in ``docker save``.
- ``.env`` is ignored by git and never copied into a build context (the build copies
  an explicit list of files; see :mod:`airlock.build`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from dotenv import dotenv_values

from airlock.errors import InputError
from airlock.project import Project

#: name parts that make a variable a secret (matched as whole ``_``-separated words)
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASS", "PAT", "KEY", "APIKEY", "CREDENTIAL", "CREDENTIALS", "AUTH", "PRIVATE", "CERT", "COOKIE", "SESSION")
_SPLIT = re.compile(r"[^A-Z0-9]+")


def looks_secret(name: str) -> bool:
    """``GITHUB_TOKEN``, ``registry_password``, ``AWS_SECRET_ACCESS_KEY`` yes; ``KEYBOARD`` no."""
    words = [w for w in _SPLIT.split(name.upper()) if w]
    return any(w in SECRET_WORDS for w in words)


def check_build_args(args: Mapping[str, str]) -> None:
    for name in args:
        if looks_secret(name):
            raise InputError(
                f"build argument {name} looks like a secret; secrets reach a build only as BuildKit secret mounts "
                "(list it in the preset's app.secrets and put it in .env)"
            )


def load_env(project: Project) -> dict[str, str]:
    """The variables of ``.env`` (empty when there is none); never touches os.environ."""
    path = project.env_file
    if not path.exists():
        return {}
    for n, line in enumerate(path.read_text().splitlines(), 1):
        s = line.strip()
        if s and not s.startswith("#") and "=" not in s:
            raise InputError(f"{path}: line {n}: expected NAME=value")
    return {k: v for k, v in dotenv_values(path).items() if v is not None}
