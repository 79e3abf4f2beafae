"""Gather each preset's lock facts, then decide (pure) what to lock: :func:`decide` has the table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from airlock import sdist
from airlock.errors import AirlockError, InputError, IntegrityError
from airlock.lock.engines import DEFAULT_ENGINE, ENGINES, Host, pip_tools_mismatch
from airlock.lock.inputs import LockInputs, lock_inputs
from airlock.lockfile import Lockfile, parse
from airlock.presets import load_preset, preset_names
from airlock.project import Project
from airlock.target import Target


class Reason(str, Enum):
    MISSING = "missing"
    INVALID = "unreadable"
    STALE = "stale"
    UPGRADE = "upgrade"
    FRESH = "fresh"


@dataclass(frozen=True)
class Decision:
    lock: bool
    reason: Reason
    keep_pins: bool  # hand the existing lock to the engine as its output file


#: The existing lock's state as :func:`decide` sees it.
MISSING = None
INVALID = "invalid"


def decide(existing: str | None, wanted: str, upgrade: bool) -> Decision:
    """Lock this preset or not, and whether to keep the existing lock's pins.

    ``existing`` is the digest in the current lock's header, :data:`MISSING` (None)
    when there is no lock, or :data:`INVALID` when it cannot be read.

    ================  ==========  =========  ======  ==========
    existing lock     digest      upgrade    lock?   keep pins
    ================  ==========  =========  ======  ==========
    missing           -           any        yes     no  (missing)
    unreadable        -           any        yes     no  (unreadable)
    present           == wanted   no         no      -   (fresh)
    present           == wanted   yes        yes     no  (upgrade)
    present           != wanted   no         yes     yes (stale)
    present           != wanted   yes        yes     no  (upgrade)
    ================  ==========  =========  ======  ==========

    Keeping pins means the engine prefers the versions already locked and moves only
    what the changed inputs force; ``--upgrade`` lets everything move.
    """
    if existing is MISSING:
        return Decision(True, Reason.MISSING, False)
    if existing == INVALID:
        return Decision(True, Reason.INVALID, False)
    if upgrade:
        return Decision(True, Reason.UPGRADE, False)
    if existing == wanted:
        return Decision(False, Reason.FRESH, False)
    return Decision(True, Reason.STALE, True)


@dataclass(frozen=True)
class LockItem:
    """What planning knows about one preset, read from disk beforehand."""

    inputs: LockInputs
    target: Target
    existing: str | None  # the existing lock's digest, MISSING or INVALID
    problem: str = ""  # why an existing lock is INVALID
    #: why the build-deps lock beside a readable lock does not fit it ("" when it does, or there is none)
    build_problem: str = ""

    @property
    def name(self) -> str:
        return self.inputs.preset


@dataclass(frozen=True)
class LockStep:
    item: LockItem
    decision: Decision

    @property
    def name(self) -> str:
        return self.item.name


@dataclass(frozen=True)
class LockPlan:
    engine: str
    upgrade: bool
    steps: tuple[LockStep, ...]

    @property
    def todo(self) -> tuple[LockStep, ...]:
        return tuple(s for s in self.steps if s.decision.lock)

    def render(self) -> str:
        rows = [f"{s.name}: {'lock' if s.decision.lock else 'keep'} ({s.decision.reason.value})" for s in self.steps]
        return "\n".join(rows)


def gather(project: Project, names: Sequence[str], env: Mapping[str, str] | None = None) -> list[LockItem]:
    """Load and validate every named preset (all when empty) and read its lock's digest."""
    chosen = list(dict.fromkeys(names)) or preset_names(project)
    if not chosen:
        raise InputError(f"{project.presets_dir}: no presets")
    items = []
    for name in chosen:
        preset = load_preset(project, name, env)
        inputs = lock_inputs(project, preset)
        path = project.lock_path(name)
        existing: str | None = MISSING
        problem = build_problem = ""
        if path.exists():
            try:
                lock = parse(path.read_text(), str(path))
                existing = lock.input_digest
            except (AirlockError, UnicodeDecodeError) as exc:
                existing, problem = INVALID, str(exc)
            else:
                build_problem = _build_problem(project, lock)
        items.append(LockItem(inputs, Target.for_preset(preset), existing, problem, build_problem))
    return items


def _build_problem(project: Project, lock: Lockfile) -> str:
    """Why ``locks/<preset>.build.txt`` does not fit ``lock`` ("" when it does, or when there is none)."""
    path = sdist.build_lock_path(project.locks_dir, lock.preset)
    try:
        bl = sdist.read_build_lock(path)
    except (AirlockError, UnicodeDecodeError) as exc:
        return str(exc)
    return "; ".join(sdist.check_build_lock(bl, lock, str(path.relative_to(project.root)))) if bl is not None else ""


def plan_lock(items: Sequence[LockItem], *, engine: str = DEFAULT_ENGINE, upgrade: bool = False, host: Host | None = None) -> LockPlan:
    """Decide, for each preset, whether it needs locking (pure, given ``host``).

    Raises InputError before anything runs for an unknown engine, or when pip-tools
    is asked for a preset it must lock but cannot resolve for (see
    :func:`pip_tools_mismatch`).
    """
    if engine not in ENGINES:
        raise InputError(f"--engine {engine!r}: not one of {', '.join(ENGINES)}")
    steps = tuple(LockStep(it, decide(it.existing, it.inputs.digest, upgrade)) for it in items)
    if engine == "pip-tools":
        host = host or Host.current()
        for step in steps:
            why = pip_tools_mismatch(step.item.target, host) if step.decision.lock else None
            if why:
                raise InputError(
                    f"{step.name}: pip-tools resolves only for the Python running it ({host.label}), "
                    f"not for the preset's target {step.item.target.label} ({why}); use --engine uv, which resolves for any target"
                )
    return LockPlan(engine, upgrade, steps)


def check_plan(project: Project, plan: LockPlan) -> None:
    """``--check``: IntegrityError naming every missing, unreadable or stale lock."""
    bad = check_problems(project, plan)
    if bad:
        raise IntegrityError(f"{len(bad)} of {len(plan.steps)} locks out of date: " + " | ".join(bad))


def check_problems(project: Project, plan: LockPlan) -> list[str]:
    """One item per missing, unreadable or stale lock (or build-deps lock that does not fit), with its fix."""
    bad = []
    for s in plan.steps:
        if s.decision.reason is Reason.FRESH:
            if s.item.build_problem:
                bad.append(s.item.build_problem)
            continue
        rel = project.lock_path(s.name).relative_to(project.root)
        what = {
            Reason.MISSING: "is missing",
            Reason.INVALID: f"cannot be read ({s.item.problem})",
            Reason.STALE: "is stale (its preset's inputs changed)",
            Reason.UPGRADE: "is stale",
        }[s.decision.reason]
        bad.append(f"{rel} {what}; run: inv lock --preset {s.name}")
    return bad
