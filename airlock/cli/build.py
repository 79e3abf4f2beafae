"""``inv build``, ``inv smoke``: build a preset's image offline and check it."""

from __future__ import annotations

import os
import sys
import time

from invoke import task

from airlock.cli._boundary import boundary, project
from airlock.errors import IntegrityError, InputError
from airlock.presets import apply_overrides, load_preset
from airlock.settings import collect
from airlock.store import writer


def _build_args(values: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values:
        key, sep, val = item.partition("=")
        if not sep or not key:
            raise InputError(f"--build-arg {item!r}: use NAME=VALUE")
        out[key] = val
    if out:
        from airlock.secrets import check_build_args

        check_build_args(out)
    return out


@task(
    help={
        "preset": "the preset to build; without it, on a terminal, airlock asks (see docs/build-guide.md)",
        "target": "runtime (minimal, non-root; default) or dev (builder toolchain, sources and app)",
        "app-src": "the application source tree to build (default: the preset's app.src or AIRLOCK_APP_SRC)",
        "tag": "image tag (default airlock/<preset>:<target>)",
        "base": "override the base image of both stages (same as AIRLOCK_BASE_IMAGE)",
        "no-cache": "rebuild everything: the deps images too, without the build cache",
        "dry-run": "print the plan (tags, deps reuse decision, context sizes) and build nothing",
        "non-interactive": "never prompt; fail listing what is missing (implied when stdin is not a terminal)",
        "build-arg": "NAME=VALUE passed to docker build (repeatable); secret-looking names are refused",
        "skip-verify": "do not run inv verify first (not recommended; the build still refuses a stale lock)",
        "no-prebuilt": "compile FFmpeg/OpenCV even when the store holds them prebuilt under their current key (see inv prebuild)",
    },
    iterable=["build_arg"],
)
@boundary
def build(c, preset="", target="", app_src="", tag="", base="", no_cache=False, dry_run=False,  # type: ignore[no-untyped-def]
          non_interactive=False, build_arg=None, skip_verify=False, no_prebuilt=False):
    """Build the preset's image offline (--network=none) from its artifacts."""
    from airlock import build as b

    proj = project()
    args = _build_args(build_arg or [])
    if not preset:
        from airlock.prompt import interactive_choice, missing_message, needs_prompt

        if not needs_prompt(preset, non_interactive, sys.stdin.isatty()):
            raise InputError(missing_message(preset, non_interactive, sys.stdin.isatty()))
        choice = interactive_choice(proj, sys.stdin, sys.stdout)
        preset = choice.preset
        target = target or choice.target
        if choice.created is not None:
            _lock_and_sync(proj, preset)
    target = target or "runtime"
    p = load_preset(proj, preset)
    p = apply_overrides(p, proj.preset_path(p.name), collect({"AIRLOCK_BASE_IMAGE": base, "AIRLOCK_APP_SRC": app_src}, {}))
    # The store is held shared from the check to the end of the build: a sync cannot change it meanwhile.
    with writer.hold(proj.artifacts(p.name), exclusive=False, doing="run inv build"):
        _preflight(proj, p, skip_verify)
        facts = b.gather_build(proj, p, target=target, tag=tag, app_src=app_src)
        plan = b.plan_build(facts, no_cache=no_cache, build_args=args, no_prebuilt=no_prebuilt)
        print(plan.render())
        if dry_run:
            return
        secret_env = _secrets(proj, plan.secrets)
        t0 = time.monotonic()
        res = b.apply_build(proj, p, plan, facts.deps_files, facts.app_files, no_cache=no_cache, secret_env=secret_env)
    from airlock.render import mb

    took = ", ".join(f"{k} {v:.1f} s" for k, v in res.seconds.items())
    print(f"built {res.tag} ({res.image_id[:19]}, {mb(res.size)}) in {time.monotonic() - t0:.1f} s ({took}; deps {res.deps_action})")


def _preflight(proj, p, skip_verify: bool) -> None:  # type: ignore[no-untyped-def]
    from airlock.lock import check_fresh
    from airlock.lockfile import read

    check_fresh(proj, p, read(proj.lock_path(p.name)))
    if skip_verify:
        return
    from airlock.verify import verify_store

    report = verify_store(proj, p.name)
    for w in report.warnings:
        print(f"  warning: {w}", file=sys.stderr)
    if report.findings:
        for f in report.findings:
            print(f"  {f}", file=sys.stderr)
        raise IntegrityError(f"artifacts/{p.name} failed verification ({len(report.findings)} problems); fix them (inv sync --preset {p.name}) before building")


def _secrets(proj, names):  # type: ignore[no-untyped-def]
    if not names:
        return {}
    from airlock.secrets import load_env

    env = {**{k: v for k, v in os.environ.items() if k in names}, **load_env(proj)}
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise InputError(f"{proj.env_file}: {missing[0]} is not set (the preset's app.secrets needs it; see .env.template)")
    return {n: env[n] for n in names}


def _lock_and_sync(proj, name: str) -> None:  # type: ignore[no-untyped-def]
    from airlock.lock import lock_presets
    from airlock.sync import apply_sync, gather_sync, plan_sync

    p = load_preset(proj, name)
    lock_presets(proj, [name])
    with writer.hold(proj.artifacts(p.name), exclusive=True, doing="run inv build"):
        apply_sync(proj, p, plan_sync(gather_sync(proj, p)))


@task(
    help={
        "preset": "the preset whose image to check",
        "target": "runtime (default; full hygiene checks) or dev",
        "tag": "image to check (default airlock/<preset>:<target>)",
        "gpu": "instead, run the GPU probe in the image with --gpus all: driver, torch + cuDNN, cv2.cuda, NVDEC/NVENC, TensorRT (exit 6 without a GPU runtime)",
    }
)
@boundary
def smoke(c, preset="", target="runtime", tag="", gpu=False):  # type: ignore[no-untyped-def]
    """Run the built image offline: imports, ffmpeg, the app, non-root, no compilers/caches/wheels."""
    from airlock.smoke import gpu_smoke
    from airlock.smoke import smoke as run_smoke

    if not preset:
        raise InputError("--preset is required")
    from airlock.lockfile import read

    proj = project()
    p = load_preset(proj, preset)
    image = tag or f"airlock/{p.name}:{target}"
    if gpu:
        code, out = gpu_smoke(p, image)
        print(out)
        if code != 0:
            raise IntegrityError(f"{image}: GPU probe failed (exit {code}): {', '.join(ln.split('  ')[0] for ln in out.splitlines() if '  FAIL  ' in ln) or 'see above'}")
        return
    locked = [pin.key for pin in read(proj.lock_path(p.name)).pins]
    report = run_smoke(p, image, locked, runtime=target == "runtime")
    print(report.render())
    if not report.ok:
        bad = [k for k, v in report.checks.items() if v != "ok"]
        raise IntegrityError(f"{report.image}: smoke check failed: {', '.join(bad)}")


@task(
    help={
        "preset": "the preset whose compiled parts (FFmpeg, OpenCV) to carry prebuilt in artifacts/<preset>/prebuilt/",
        "no-cache": "build the deps images again without the build cache before exporting",
        "skip-verify": "do not run inv verify first (not recommended)",
    }
)
@boundary
def prebuild(c, preset="", no_cache=False, skip_verify=False):  # type: ignore[no-untyped-def]
    """Compile FFmpeg/OpenCV (the deps build) and keep them in the store, keyed by their inputs, for inv build."""
    from airlock.prebuilt import prebuild as run_prebuild

    if not preset:
        raise InputError("--preset is required")
    proj = project()
    p = load_preset(proj, preset)
    _preflight(proj, p, skip_verify)
    t0 = time.monotonic()
    # The store is written (prebuilt/, the index): held exclusively from here, after verify's shared hold.
    with writer.hold(proj.artifacts(p.name), exclusive=True, doing="run inv prebuild"):
        done = run_prebuild(proj, p, no_cache=no_cache)
    print(f"prebuilt {len(done)} parts into artifacts/{p.name}/prebuilt/ in {time.monotonic() - t0:.1f} s; inv build takes them while their keys match")


TASKS = [build, smoke, prebuild]


@task(
    help={
        "preset": "the preset whose image to analyse",
        "target": "runtime (default) or dev",
        "tag": "image to analyse (default airlock/<preset>:<target>)",
        "json": "print the report as JSON",
    }
)
@boundary
def report(c, preset="", target="runtime", tag="", json=False):  # type: ignore[no-untyped-def]
    """Image size, per-layer sizes and largest paths, against the base image and the payload."""
    import json as _json

    from airlock.report import report as make_report

    if not preset:
        raise InputError("--preset is required")
    proj = project()
    p = load_preset(proj, preset)
    rep = make_report(proj, p, tag or f"airlock/{p.name}:{target}")
    print(_json.dumps(rep.as_dict(), indent=2) if json else rep.render())


TASKS.append(report)
