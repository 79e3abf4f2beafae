"""The one error boundary: an AirlockError becomes one line and its exit code."""

from __future__ import annotations

import functools
import logging
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from invoke.exceptions import Exit

from airlock.errors import DEBUG_VAR, handle
from airlock.project import Project

F = TypeVar("F", bound=Callable[..., Any])


def boundary(fn: F) -> F:
    """Wrap a task body: every exception -> one line and its exit code (:func:`airlock.errors.describe`)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _setup_logging()
        try:
            return fn(*args, **kwargs)
        except Exit:
            raise
        except (Exception, KeyboardInterrupt) as exc:
            raise Exit(code=handle(exc)) from None

    return wrapper  # type: ignore[return-value]


def project() -> Project:
    return Project.here()


def _setup_logging() -> None:
    level = logging.DEBUG if os.environ.get(DEBUG_VAR) else logging.WARNING
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)


def split_list(values: list[str]) -> list[str]:
    """``["a,b", "c"]`` -> ``["a", "b", "c"]`` (repeatable, comma-separated flags)."""
    return [v.strip() for item in values for v in item.split(",") if v.strip()]
