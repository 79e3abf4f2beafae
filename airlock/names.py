"""The preset name format: also a path component, so it is strict."""

from __future__ import annotations

import re

#: lower-case letters and digits, single separators (``.``, ``-``, ``_``) between them,
#: 1–64 characters: ``ubuntu22.04-cuda11.8-torch2.1``. No ``/``, no ``..``, no spaces,
#: no upper case, no leading or trailing separator.
NAME_RE = re.compile(r"[a-z0-9](?:[._-]?[a-z0-9])*")
NAME_MAX = 64


def is_valid_name(name: str) -> bool:
    return len(name) <= NAME_MAX and NAME_RE.fullmatch(name) is not None


NAME_RULE = "1-64 characters: lower-case letters and digits, with single '.', '-' or '_' between them"
