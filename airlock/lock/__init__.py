"""Locking: resolve a preset's requirements for its *target* into ``locks/<preset>.txt``.

The lock is pip-tools' ``requirements.txt`` format (:mod:`airlock.lockfile`): every
transitive dependency pinned with ``==``, one ``--hash=sha256:`` per distribution
file, resolved for the preset's Python and platform (:class:`airlock.target.Target`),
never the host's.

Engines
-------
Two engines sit behind one interface (:class:`Engine`) and write the same format:
airlock parses the engine's output into :class:`~airlock.lockfile.Pin` records and
renders the lock itself, with its own header.

``uv`` (default)
    ``uv pip compile --python-version X --python-platform <arch>-manylinux_<glibc>``
    resolves for any target in seconds.
``pip-tools``
    ``python -m piptools compile`` resolves only for the interpreter that runs it,
    so it is refused (exit 2, suggesting ``--engine uv``) when the preset's Python
    version, CPU or glibc differ from this interpreter's. Where both can run they
    give identical pins and hashes (``tests/test_lock_engines.py``).

Both run isolated from the machine's configuration: explicit ``--index-url`` (PyPI)
and, when the preset's torch index is not PyPI, that index as ``--extra-index-url``;
``--no-config``; every ``PIP_*``/``UV_*`` variable removed from the child's
environment (mapped to ``None`` in the ``env`` given to :func:`airlock.runner.run`);
pip's own config files switched off with ``PIP_CONFIG_FILE=/dev/null`` (pip-tools
ignores ``--pip-args --isolated`` for them).

Index strategy: uv's default ``first-index`` is kept; ``--index-strategy
unsafe-best-match`` is *not* used. For a PyPI-only preset there is one index, so the
strategy does not matter. For a preset whose torch set comes from
download.pytorch.org, ``first-index`` takes every package that index carries (torch,
its nvidia-* and triton deps, and its copies of numpy, pillow, ...) from that index
only, which is what keeps a ``+cu118`` torch and its CUDA libraries from one build
and protects against a same-named package on the other index. Should a requirement
need a version only PyPI has, uv says so and names the package; the fix is to pin a
version the torch index carries. (pip merges indexes instead; pip-tools cannot lock
those presets on this machine anyway: they are Python 3.10 targets.)

Staleness
---------
The header records ``airlock-input-digest: sha256:<hex>``, the sha256 of the
canonical JSON (sorted keys, no spaces) of the lock's inputs (:class:`LockInputs`):
preset name, Python version, target label, platform, the requirement lines
(:func:`airlock.presets.requirements_lines`, in order; comments and blank lines of an
``.in`` file do not count) and the index URLs. A lock whose digest differs is stale;
``verify``, ``sync`` and ``build`` refuse it.

*Decision* (an earlier design listed the engine version among the inputs): the
engine and its version are **not** in the digest. An engine upgrade,
or locking the same inputs with the other engine, does not change what the lock
must satisfy, and must not make every committed lock stale. The engine is recorded
separately in the header (``airlock-engine: uv 0.13.9``).

Modules
-------
:mod:`~airlock.lock.inputs` (a lock's inputs, their digest, the one freshness check),
:mod:`~airlock.lock.engines` (uv and pip-tools behind :class:`Engine`, the host probe,
failure summaries), :mod:`~airlock.lock.plan` (gather, then decide) and
:mod:`~airlock.lock.apply` (run, render, write). Each imports only the ones before it.
:mod:`~airlock.lock.system` is the system part (``--only system``): each stage's base pin and
.deb set into ``locks/<preset>.system.json`` (format: :mod:`airlock.syslock`).

Plan, then apply
----------------
:func:`plan_lock` is pure: given what is known about each preset (its inputs and the
digest of its existing lock) it decides what to do (:func:`decide`, table there).
:func:`apply_lock` runs the engine for each preset that needs it, renders, and writes
atomically; a preset that fails to lock leaves its file untouched while the others
are still locked, and the run ends in one :class:`LockFailed` (exit 3) naming each.
"""

from __future__ import annotations

from airlock.lock.apply import LockResult, apply_lock, build_lock, lock_presets
from airlock.lock.engines import (
    DEFAULT_ENGINE,
    ENGINES,
    Engine,
    Host,
    LockFailed,
    PipToolsEngine,
    UvEngine,
    engine_for,
    pip_tools_mismatch,
    summarize_failure,
)
from airlock.lock.inputs import LockInputs, check_fresh, index_urls, input_digest, lock_inputs
from airlock.lock.plan import INVALID, MISSING, Decision, LockItem, LockPlan, LockStep, Reason, check_plan, decide, gather, plan_lock

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "Decision",
    "Engine",
    "Host",
    "INVALID",
    "MISSING",
    "LockFailed",
    "LockInputs",
    "LockItem",
    "LockPlan",
    "LockResult",
    "LockStep",
    "PipToolsEngine",
    "Reason",
    "UvEngine",
    "apply_lock",
    "build_lock",
    "check_fresh",
    "check_plan",
    "decide",
    "engine_for",
    "gather",
    "index_urls",
    "input_digest",
    "lock_inputs",
    "lock_presets",
    "pip_tools_mismatch",
    "plan_lock",
    "summarize_failure",
]
