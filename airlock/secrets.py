"""Secrets: read from ``.env`` with python-dotenv, handed to a build only as a BuildKit secret.

- ``.env`` is parsed with ``dotenv_values`` and never loaded into ``os.environ``.
- A secret reaches a build only through ``RUN --mount=type=secret`` in the application
  build step, and only the names the preset lists in ``app.secrets``.
- Build arguments whose names look like secrets are refused: build arguments show in
  ``docker history`` and in ``docker save``.
- A secret's name is a shell identifier (:data:`NAME_RULE`): ``docker/build-app`` sources
  the secrets as ``NAME='value'`` lines. The preset's ``app.secrets`` and every name in
  ``.env`` are checked when they load, before anything runs.
- ``.env`` is ignored by git and never copied into a build context: no ``.env*`` or
  ``*.env`` file enters one (see :func:`airlock.build.app_files`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from airlock.errors import InputError
from airlock.project import Project

#: name parts that make a variable a secret (matched as whole ``_``-separated words)
SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASS", "PAT", "KEY", "APIKEY", "CREDENTIAL", "CREDENTIALS", "AUTH", "PRIVATE", "CERT", "COOKIE", "SESSION")
_SPLIT = re.compile(r"[^A-Z0-9]+")

#: a secret's name: what ``sh`` accepts as a variable name (docker/build-app sources them)
NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
NAME_RULE = "a shell variable name: letters, digits and _, not starting with a digit"


def name_problem(name: str) -> str:
    """The message for a name that is not :data:`NAME_RULE` (the caller adds where it is)."""
    return f"{name!r} is not {NAME_RULE}; rename it (docker/build-app reads secrets as shell assignments)"


#: names docker/build-app sets after reading the secrets, or that change how its shell or the
#: loader behaves: a secret with one of them would be overwritten or would subvert the step
RESERVED_NAMES = frozenset({
    "PREFIX", "PYTHON", "FFMPEG_PREFIX", "OPENCV_PREFIX",
    "PATH", "IFS", "HOME", "ENV", "SHELL", "PS4", "CDPATH", "LD_PRELOAD", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME",
})


def reserved_problem(name: str) -> str | None:
    """Why ``name`` cannot be a secret passed to the build step, or None."""
    if name in RESERVED_NAMES:
        return f"{name!r} is reserved (docker/build-app sets it, or it changes the build step's shell); use another name"
    return None


def is_secret_name(name: str) -> bool:
    """``GITHUB_TOKEN``, ``_x1`` yes; ``MY-TOKEN``, ``1X``, ``A B``, ``$(id)`` no."""
    return NAME_PATTERN.fullmatch(name) is not None


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
    """The variables of ``.env`` (empty when there is none); never touches os.environ.

    Every line must be ``NAME=value`` with NAME a shell variable name (:data:`NAME_RULE`);
    the first that is not is an :class:`InputError` naming the file and the line.
    """
    path = project.env_file
    if not path.exists():
        return {}
    text = path.read_text()
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if s and not s.startswith("#") and "=" not in s:
            raise InputError(f"{path}: line {n}: expected NAME=value")
    for binding in parse_stream(io.StringIO(text)):
        n = binding.original.line
        if binding.error:
            raise InputError(f"{path}: line {n}: expected NAME=value")
        if binding.key is not None and not is_secret_name(binding.key):
            raise InputError(f"{path}: line {n}: {name_problem(binding.key)}")
    return {k: v for k, v in dotenv_values(path).items() if v is not None}
