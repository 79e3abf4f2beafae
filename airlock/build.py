"""``inv build``: plan the offline build of one preset, then carry it out.

Two docker builds, both ``--network=none`` with BuildKit:

1. **deps** (``builder`` and ``runtime-deps`` stages): every input but the
   application. Tagged ``airlock/<preset>:deps-<hash>-builder|runtime`` where the hash
   covers the preset (less its app section), the lock, every .deb, wheel and source
   archive (their sha256 from the verified manifest), the helper scripts, the
   Dockerfile's deps stages and the base images' ids; and, when the compiled parts are
   taken prebuilt (:mod:`airlock.prebuilt`), the sha256 of those archives. Reused when
   both tags exist.
2. **app** (``app-build`` then ``runtime`` or ``dev``): the application source tree,
   built on the deps builder image and copied onto the deps runtime image.

Each build gets its own small context under ``.airlock/build/<preset>/`` holding only
what that build reads (hard links to the preset's artifacts; never another preset's
artifacts, ``.env`` or ``.git``). What of the application tree enters the app context is
decided by one function, :func:`app_excluded` (fixed exclusions, then the tree's
``.dockerignore``).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import posixpath
import re
import shlex
import shutil
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from airlock import __version__, compat, docker, images, lockfile, prebuilt
from airlock.debs import stage_packages
from airlock.errors import CommandError, InputError, IntegrityError
from airlock.fsutil import sha256_bytes
from airlock.presets import Preset
from airlock.project import Project
from airlock.render import mb
from airlock.runner import run
from airlock.store import layout

TARGETS = ("runtime", "dev")
DEPS_MARKER = "# --------------------------------------------------------------------- app-build"
#: never copied from an application source tree into a context, at any depth (no ignore rule brings them back)
APP_EXCLUDES = frozenset({
    ".git", ".hg", ".svn", ".venv", ".tox", ".nox",
    "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis",
})
#: the ignore file honoured at the root of an application source tree, with Docker's semantics
APP_IGNORE_FILE = ".dockerignore"
#: the project's own folders: never in an app context, even when the app tree holds the project (``--app-src .``)
PROJECT_OWN = ("artifacts", ".airlock", ".venv", ".git")


@dataclass(frozen=True)
class BuildPlan:
    preset: str
    target: str
    tag: str
    deps_hash: str
    deps_tags: dict[str, str]
    deps_action: str  # "reuse" | "build"
    base_refs: dict[str, str]
    app_src: Path
    labels: dict[str, str]
    build_args: dict[str, str]
    secrets: tuple[str, ...]
    deps_context: dict[str, int] = field(default_factory=dict)  # relpath -> size
    app_context: dict[str, int] = field(default_factory=dict)
    #: how the compiled parts (FFmpeg, OpenCV) get into the builder: see :func:`airlock.prebuilt.decide_parts`
    parts: prebuilt.PartsDecision = field(default_factory=lambda: prebuilt.PartsDecision("compiled", ()))

    def render(self) -> str:
        lines = [
            f"preset      {self.preset}",
            f"target      {self.target} -> {self.tag}",
            f"deps hash   {self.deps_hash[:16]} ({self.deps_action}: {self.deps_tags['builder']}, {self.deps_tags['runtime']})",
            f"bases       builder={self.base_refs['builder']} runtime={self.base_refs['runtime']}",
            f"app source  {self.app_src}",
            f"context     deps {mb(sum(self.deps_context.values()))} in {len(self.deps_context)} files"
            f"{' (not sent: deps reused)' if self.deps_action == 'reuse' else ''}; "
            f"app {mb(sum(self.app_context.values()))} in {len(self.app_context)} files",
            f"parts       {self.parts.render()}",
            f"secrets     {', '.join(self.secrets) or 'none'}",
        ]
        return "\n".join(lines)


def decide_deps(tags_exist: bool, no_cache: bool) -> str:
    """Rebuild or reuse the deps images.

    ==========  ========  =======
    tags exist  no_cache  action
    ==========  ========  =======
    yes         no        reuse
    yes         yes       build
    no          no        build
    no          yes       build
    ==========  ========  =======
    """
    return "reuse" if tags_exist and not no_cache else "build"


# ----------------------------------------------------------------- contexts


# OpenCV's CMake downloads these at configure time, which cannot work with --network=none:
# IPP ICV (WITH_IPP) and ADE, G-API's graph library (WITH_ADE; without it G-API is skipped).
# A preset's cmake_flags come later on the command line, so they can still say otherwise.
OPENCV_OFFLINE_FLAGS = ("-DWITH_IPP=OFF", "-DWITH_ADE=OFF")

#: The parts compiled or installed from source archives, one builder step each, in this order.
SOURCE_PARTS = ("ffmpeg", "opencv", "tensorrt")
#: What config/<part>/archive.txt says when the preset has no such part (the scripts in docker/ skip it).
NO_PART = "none"


def _config_files(project: Project, preset: Preset) -> dict[str, bytes]:
    """The small per-preset files the Dockerfile reads from ``config/``."""

    def lines(items: tuple[str, ...] | list[str]) -> bytes:
        return "".join(f"{i}\n" for i in items).encode()

    # Each compiled part has its own config/<part>/ and sources/<part>/ (see artifact_files),
    # so its RUN step's cache key moves only with its own inputs. A part the preset does not
    # have is the explicit word "none": the scripts fail on an empty archive argument.
    archive = {field: f"/airlock/sources/{src.filename}" for field, src in preset.named_sources}
    opencv_flags: list[str] = []
    if preset.opencv:
        opencv_flags = [
            *OPENCV_OFFLINE_FLAGS,
            f"-DWITH_CUDA={'ON' if preset.opencv.cuda else 'OFF'}",
            f"-DBUILD_opencv_dnn={'ON' if preset.opencv.dnn else 'OFF'}",
            *(["-DOPENCV_DNN_CUDA=ON"] if preset.opencv.cuda and preset.opencv.dnn else []),
            *preset.opencv.cmake_flags,
        ]
    numpy = _opencv_numpy(project, preset)
    python: dict[str, bytes] = {}
    if numpy != NO_PART:
        # cmake -C runs python.cmake before configuring: it makes a scratch venv with the locked
        # numpy (hash-checked, offline) and points the bindings at it. Presets without bindings
        # keep config/opencv and docker/build-opencv as they were, so their OpenCV stays cached.
        opencv_flags = ["-C", "/airlock/config/python.cmake", *opencv_flags]
        python = {
            "config/opencv/numpy.txt": (numpy + "\n").encode(),
            "config/opencv/python.cmake": OPENCV_PYTHON_CMAKE.replace("@PYTHON@", f"python{preset.python.version}").encode(),
        }
    return {
        **python,
        "config/builder/apt.txt": lines(stage_packages(preset, "builder")),
        "config/runtime/apt.txt": lines(stage_packages(preset, "runtime")),
        "config/ffmpeg/archive.txt": (archive.get("ffmpeg.url", NO_PART) + "\n").encode(),
        "config/ffmpeg/flags.txt": lines(preset.ffmpeg.configure_flags if preset.ffmpeg else ()),
        "config/opencv/archive.txt": (archive.get("opencv.url", NO_PART) + "\n").encode(),
        "config/opencv/contrib-archive.txt": (archive.get("opencv.contrib.url", NO_PART) + "\n").encode(),
        "config/opencv/flags.txt": lines(opencv_flags),
        "config/tensorrt/archive.txt": (archive.get("tensorrt.url", NO_PART) + "\n").encode(),
    }


#: cmake -C script for OpenCV's Python bindings (see _config_files); @PYTHON@ is the preset's python.
OPENCV_PYTHON_CMAKE = """\
# Made by airlock: OpenCV's Python bindings compile against the lock's numpy.
execute_process(COMMAND @PYTHON@ -m venv /src/numpy-venv RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "opencv.python: @PYTHON@ -m venv failed (${rc})")
endif()
execute_process(COMMAND /src/numpy-venv/bin/pip install -q --isolated --no-index --require-hashes --only-binary=:all:
                        --find-links /airlock/sources -r /airlock/config/numpy.txt RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "opencv.python: installing the locked numpy from /airlock/sources failed (${rc})")
endif()
execute_process(COMMAND /src/numpy-venv/bin/python -c "import numpy; print(numpy.get_include())"
                OUTPUT_VARIABLE numpy_include OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "opencv.python: numpy does not import in the scratch venv (${rc})")
endif()
set(BUILD_opencv_python3 ON CACHE BOOL "")
set(PYTHON3_EXECUTABLE /src/numpy-venv/bin/python CACHE FILEPATH "")
set(PYTHON3_NUMPY_INCLUDE_DIRS "${numpy_include}" CACHE PATH "")
set(OPENCV_PYTHON3_INSTALL_PATH lib/python3/site-packages CACHE STRING "")
"""


def _opencv_numpy(project: Project, preset: Preset) -> str:
    """The lock's numpy line (with its hashes) that OpenCV's Python bindings compile against, or ``none``.

    config/opencv/python.cmake installs it, hash-checked, into a scratch venv for the headers; the
    image's venv gets the same numpy from the lock, so cv2 runs against the numpy it was built for.
    """
    if preset.opencv is None or not preset.opencv.python:
        return NO_PART
    pin = lockfile.read(project.lock_path(preset.name)).by_key().get("numpy")
    if pin is None:
        raise InputError(f"{project.lock_path(preset.name)}: opencv.python: OpenCV's Python bindings compile against numpy, which the lock lacks; add numpy to the requirements")
    return pin.requirement + "".join(f" --hash=sha256:{h}" for h in pin.hashes)


def _app_config(preset: Preset) -> dict[str, bytes]:
    assert preset.app is not None
    entry = "#!/bin/sh\nexec " + shlex.join(preset.app.entrypoint) + ' "$@"\n'
    return {
        "config/app-build.txt": "".join(f"{a}\n" for a in preset.app.build).encode(),
        "config/entrypoint": entry.encode(),
    }


def _scripts(project: Project) -> dict[str, Path]:
    d = project.root / "docker"
    if not d.is_dir():
        raise InputError(f"{d}: missing (the build's helper scripts live there)")
    return {f"scripts/{p.name}": p for p in sorted(d.iterdir()) if p.is_file()}


def _deps_dockerfile(text: str) -> str:
    return text.split(DEPS_MARKER, 1)[0]


def artifact_files(project: Project, preset: Preset) -> dict[str, Path]:
    """The store files the deps build reads (context path -> store path)."""
    store = project.artifacts(preset.name)
    listing = layout.walk(store)  # regular files only: no symlink followed, no *.part, no strays
    out: dict[str, Path] = {}
    for sub in (layout.WHEELS, *(layout.deb_dir(s) for s in images.STAGES)):
        files = sorted(rel for rel in listing.files if rel.rsplit("/", 1)[0] == sub)
        for rel in files:
            out[rel] = listing.files[rel]
        if not files:
            out[f"{sub}/.keep"] = Path(os.devnull)  # an empty folder in the context
    # Source archives go to sources/<part>/ (ffmpeg, opencv with its contrib, tensorrt):
    # each compile step mounts only its own, so a new OpenCV does not rebuild FFmpeg.
    for part in SOURCE_PARTS:
        out[f"sources/{part}/.keep"] = Path(os.devnull)
    for fld, src in preset.named_sources:
        out[f"sources/{fld.split('.', 1)[0]}/{src.filename}"] = store / layout.source(src.filename)
    # OpenCV's Python bindings compile against the locked numpy: its wheel joins OpenCV's sources,
    # so only a new numpy (not any lock change) compiles OpenCV again.
    numpy = _opencv_numpy(project, preset)
    if numpy != NO_PART:
        stem = "numpy-" + numpy.split("==", 1)[1].split()[0].split(";")[0].strip() + "-"
        for rel in sorted(r for r in listing.files if layout.folder_of(r) == layout.WHEELS and r.rsplit("/", 1)[-1].startswith(stem)):
            out[f"sources/opencv/{rel.rsplit('/', 1)[-1]}"] = listing.files[rel]
    return out


def deps_hash(project: Project, preset: Preset, store_sha: Mapping[str, str], base_ids: Mapping[str, str]) -> str:
    """Content hash of every input of the deps images (see module docstring)."""
    h = hashlib.sha256()
    preset_data = preset.model_dump(mode="json")
    preset_data.pop("app", None)
    preset_data.pop("description", None)
    parts: dict[str, object] = {
        "airlock-deps-v1": True,
        "preset": preset_data,
        "lock": sha256_bytes(project.lock_path(preset.name).read_bytes()),
        "dockerfile": sha256_bytes(_deps_dockerfile(project.dockerfile.read_text()).encode()),
        "scripts": {k: sha256_bytes(v.read_bytes()) for k, v in _scripts(project).items()},
        "config": {k: sha256_bytes(v) for k, v in _config_files(project, preset).items()},
        "artifacts": dict(sorted(store_sha.items())),
        "bases": dict(sorted(base_ids.items())),
    }
    h.update(json.dumps(parts, sort_keys=True).encode())
    return h.hexdigest()


def prebuilt_deps_hash(compiled_hash: str, archives: Mapping[str, str]) -> str:
    """The deps hash of a build that takes the compiled parts prebuilt: the compiling build's hash and the archives' sha256.

    Its own tags, so a deps image made from archives is never taken for one that compiled, or back.
    """
    return sha256_bytes(json.dumps({"airlock-deps-prebuilt-v1": compiled_hash, "archives": dict(sorted(archives.items()))}, sort_keys=True).encode())


def _materialize(dest: Path, files: Mapping[str, Path | bytes]) -> dict[str, int]:
    """Make ``dest`` hold exactly ``files`` (hard links where possible); return sizes."""
    want = set(files)
    if dest.exists():
        for p in sorted(dest.rglob("*"), reverse=True):
            rel = p.relative_to(dest).as_posix()
            if p.is_file() and rel not in want:
                p.unlink()
            elif p.is_dir() and not any(p.iterdir()):
                p.rmdir()
    sizes: dict[str, int] = {}
    for rel, src in files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(src, bytes):
            if not target.exists() or target.read_bytes() != src:
                tmp = target.with_name(target.name + ".tmp")
                tmp.write_bytes(src)
                os.chmod(tmp, 0o755 if rel.startswith(("scripts/", "config/entrypoint")) else 0o644)
                tmp.replace(target)
            sizes[rel] = len(src)
            continue
        if src == Path(os.devnull):
            target.write_bytes(b"") if not target.exists() else None
            sizes[rel] = 0
            continue
        st = src.stat()
        if target.exists():
            tst = target.stat()
            if (tst.st_ino == st.st_ino and tst.st_dev == st.st_dev) or (
                tst.st_size == st.st_size and target.read_bytes() == src.read_bytes()
            ):
                sizes[rel] = st.st_size
                continue
            target.unlink()
        try:
            os.link(src, target)
        except OSError:
            shutil.copy2(src, target)
        sizes[rel] = st.st_size
    return sizes


@dataclass(frozen=True)
class IgnoreRule:
    """One line of an ignore file: ``pattern`` cleaned as Docker does, ``negate`` for ``!``."""

    pattern: str
    negate: bool
    regex: re.Pattern[str]


def _ignore_regex(pattern: str) -> re.Pattern[str]:
    """Docker's (moby patternmatcher) translation: ``*`` and ``?`` stay within one path
    part, ``**`` spans any number of parts (none included), ``[...]`` is a class (``[!...]``
    or ``[^...]`` negated), ``\\`` quotes the next character."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if i < n and pattern[i] == "/":
                i += 1
            out.append(".*" if i == n else "(?:.*/)?")
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[" and (end := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : end]
            neg = body[:1] in ("!", "^")
            body = body[1:] if neg else body
            out.append("(?!/)[" + ("^" if neg else "") + "".join(ch if ch == "-" else re.escape(ch) for ch in body) + "]")
            i = end
        else:
            out.append(re.escape(c))
        i += 1
    return re.compile("".join(out), re.S)


def parse_ignore(text: str, where: str = APP_IGNORE_FILE) -> tuple[IgnoreRule, ...]:
    """The rules of a ``.dockerignore``: ``#`` comments and blank lines skipped, ``!`` negates,
    each pattern cleaned (``./a//b/`` is ``a/b``) and rooted at the tree (a leading ``/`` changes nothing).
    A pattern that cannot compile is an InputError naming ``where`` and the line."""
    rules: list[IgnoreRule] = []
    for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        if line.startswith("#"):
            continue
        pat = line.strip()
        negate = pat.startswith("!")
        if negate:
            pat = pat[1:].strip()
        pat = posixpath.normpath(pat).lstrip("/") if pat else ""
        if pat in ("", "."):
            continue
        try:
            regex = _ignore_regex(pat)
        except re.error as exc:
            raise InputError(f"{where}: line {n}: bad pattern {pat!r} ({exc})") from None
        rules.append(IgnoreRule(pat, negate, regex))
    return tuple(rules)


def ignore_excludes(rules: tuple[IgnoreRule, ...], rel: str) -> bool:
    """Whether ``rules`` leave out ``rel`` (a ``/``-separated path in the tree), as Docker decides:
    a rule matches the path or any folder above it, and the last matching rule wins
    (``!`` brings a path back, even one inside a left-out folder)."""
    parts = rel.split("/")
    candidates = ["/".join(parts[: k + 1]) for k in range(len(parts))]
    excluded = False
    for rule in rules:
        if any(rule.regex.fullmatch(c) for c in candidates):
            excluded = not rule.negate
    return excluded


def _never_in_context(rel: str, project_paths: frozenset[str]) -> bool:
    """The fixed exclusions: VCS, venvs and caches, ``.env*``/``*.env`` (secrets), ``*.pyc``,
    and the project's own folders (``artifacts/``, ``.airlock/``, ...) where the tree holds them."""
    parts = rel.split("/")
    for k, part in enumerate(parts):
        if part in APP_EXCLUDES or part.startswith(".env") or part.endswith(".env"):
            return True
        if "/".join(parts[: k + 1]) in project_paths:
            return True
    return rel.endswith(".pyc")


def app_excluded(rel: str, rules: tuple[IgnoreRule, ...] = (), project_paths: frozenset[str] = frozenset()) -> bool:
    """Whether ``rel`` (a path in the application tree) stays out of the app context.

    The one decision: the fixed exclusions first (no ignore rule brings them back), then the
    tree's ``.dockerignore`` rules. The copy into ``.airlock/build/<preset>/app`` and the
    plan's context listing both take :func:`app_files`, which asks only this.
    """
    return _never_in_context(rel, project_paths) or ignore_excludes(rules, rel)


def _project_paths(app_src: Path, project: Project | None) -> frozenset[str]:
    """The project's own folders inside ``app_src`` (``--app-src .``), relative to it."""
    if project is None:
        return frozenset()
    out: set[str] = set()
    for name in PROJECT_OWN:
        own = Path(os.path.realpath(project.root / name))
        if app_src == own or own in app_src.parents:
            raise InputError(
                f"app source {app_src}: inside the project's {name}/; "
                "point app.src, AIRLOCK_APP_SRC or --app-src at the application's own tree"
            )
        if app_src in own.parents:
            out.add(own.relative_to(app_src).as_posix())
    return frozenset(out)


def _real_dir(path: Path) -> Path:
    """``path`` resolved; a symlink loop (or a path that cannot be resolved) is one InputError naming it."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:  # a loop: RuntimeError before Python 3.13, OSError(ELOOP) after
        why = "symlink loop" if isinstance(exc, RuntimeError) or exc.errno == errno.ELOOP else f"cannot resolve ({exc.strerror})"
        raise InputError(f"app source {path}: {why}; point app.src, AIRLOCK_APP_SRC or --app-src at a real directory") from None


def app_files(app_src: Path, project: Project | None = None) -> dict[str, Path]:
    """The application's files for the app context (``app/<path>`` -> file); see :func:`app_excluded`.

    Symbolic links inside the tree are not followed and not copied.
    """
    app_src = _real_dir(app_src)
    if not app_src.is_dir():
        raise InputError(f"app source {app_src}: not a directory (set app.src in the preset, AIRLOCK_APP_SRC or --app-src)")
    ignore_file = app_src / APP_IGNORE_FILE
    try:
        text = ignore_file.read_text() if ignore_file.is_file() else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{ignore_file}: cannot read ({exc})") from None
    rules = parse_ignore(text, str(ignore_file))
    project_paths = _project_paths(app_src, project)
    # A left-out folder is skipped whole unless a '!' rule might bring back something inside it.
    prune_ignored = not any(r.negate for r in rules)

    def unreadable(exc: OSError) -> None:
        raise InputError(
            f"app source {exc.filename}: cannot read ({exc.strerror}); fix its permissions or list it in {APP_IGNORE_FILE}"
        )

    out: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(app_src, onerror=unreadable):
        here = Path(dirpath)
        prefix = "" if here == app_src else here.relative_to(app_src).as_posix() + "/"
        dirnames[:] = sorted(
            d for d in dirnames
            if not _never_in_context(prefix + d, project_paths) and not (prune_ignored and ignore_excludes(rules, prefix + d))
        )
        for fn in sorted(filenames):
            rel = prefix + fn
            p = here / fn
            if app_excluded(rel, rules, project_paths) or p.is_symlink() or not p.is_file():
                continue
            out["app/" + rel] = p
    if not out:
        raise InputError(f"app source {app_src}: empty (after leaving out {APP_IGNORE_FILE}'s patterns and .env, .git, caches)")
    return out


# --------------------------------------------------------------------- plan


def resolve_app_src(project: Project, preset: Preset, app_src_flag: str) -> Path:
    """``--app-src`` > ``AIRLOCK_APP_SRC`` (already applied to the preset) > ``app.src``."""
    if preset.app is None:
        raise InputError(f"{project.preset_path(preset.name)}: app: the preset has no app section to build")
    raw = app_src_flag or preset.app.src
    path = Path(raw)
    return _real_dir(path if path.is_absolute() else project.root / path)


@dataclass(frozen=True)
class BuildFacts:
    """Everything :func:`plan_build` decides on, gathered in one I/O step by :func:`gather_build`."""

    preset: Preset
    target: str
    tag: str
    app_src: Path
    #: the deps context (Dockerfile, lock, scripts, config, the store's files) and the app context
    deps_files: dict[str, Path | bytes]
    app_files: dict[str, Path | bytes]
    #: context path -> size in bytes, for both contexts
    sizes: dict[str, int]
    #: the store's files the deps context needs (store paths), and the store's index (path -> sha256)
    needed: tuple[str, ...]
    store_sha: dict[str, str]
    #: stage -> base image ref
    base_refs: dict[str, str]
    deps_hash: str
    #: both deps tags exist in the engine
    deps_exist: bool
    lock_digest: str
    #: the preset's compiled parts (their keys now) and the store's prebuilt archives
    parts: prebuilt.PartsFacts = field(default_factory=lambda: prebuilt.PartsFacts({}, ""))
    #: both deps tags of the build that would take the parts prebuilt exist in the engine
    prebuilt_exist: bool = False


def gather_build(
    project: Project,
    preset: Preset,
    *,
    target: str,
    tag: str = "",
    app_src: str = "",
    query_engine: bool = True,
) -> BuildFacts:
    """All the I/O a build decision needs: the app tree, the store's index, base ids, the deps hash, the engine's tags."""
    if target not in TARGETS:
        raise InputError(f"--target {target!r}: choose one of {', '.join(TARGETS)}")
    from airlock.images import image_id_from_tar
    from airlock.store import manifest

    # The app tree is the user's input: check it (loops, .dockerignore) before the store.
    src = resolve_app_src(project, preset, app_src)
    app_tree = app_files(src, project)
    store = project.artifacts(preset.name)
    store_sha = {e.path: e.sha256 for e in manifest.read_manifest(store).entries}
    lock_path = project.lock_path(preset.name)
    problems = compat.lock_violations(preset, {p.key for p in lockfile.read(lock_path).pins})
    if problems:
        raise InputError(f"{lock_path}: {problems[0]}")

    bases = {stage: images.base_image(preset, stage) for stage in images.STAGES}
    base_ids: dict[str, str] = {}
    for stage, img in bases.items():
        got = docker.image_id(img.ref) if query_engine else None
        if got is None:
            # Not loaded yet: the id recorded in the saved tarball is the id it will have once loaded.
            rel = layout.image(img.tar_name)
            got = image_id_from_tar(store / rel) or "tar:" + store_sha.get(rel, "missing")
        base_ids[stage] = got

    dockerfile = project.dockerfile.read_bytes()
    # pip reads the store's install lock when sync built wheels from sdists (their sha256 in place of
    # the sdists'; verify derives it again from the committed lock and the build records), else the lock.
    from airlock.sync import install_lock_source

    deps_files: dict[str, Path | bytes] = {"Dockerfile": dockerfile, "lock.txt": install_lock_source(project, preset.name)}
    deps_files.update(_scripts(project))
    deps_files.update(_config_files(project, preset))
    artifacts = artifact_files(project, preset)
    deps_files.update(artifacts)
    needed = tuple(p.relative_to(store).as_posix() for p in artifacts.values() if p != Path(os.devnull))
    # prebuilt/ is not an input of a compiling build: its archives enter the hash only when unpacked (plan_build)
    dhash = deps_hash(project, preset, {k: v for k, v in store_sha.items() if layout.folder_of(k) not in (layout.IMAGES, layout.PREBUILT)}, base_ids)
    exist = query_engine and all(docker.image_exists(t) for t in _deps_tags(preset, dhash).values())
    parts = prebuilt.gather_parts(project, preset, store_sha)
    could = prebuilt.decide_parts(parts, no_prebuilt=False)
    prebuilt_exist = (
        query_engine and could.mode == "prebuilt"
        and all(docker.image_exists(t) for t in _deps_tags(preset, prebuilt_deps_hash(dhash, could.sha256)).values())
    )

    app_ctx: dict[str, Path | bytes] = {"Dockerfile": dockerfile}
    app_ctx.update(_scripts(project))
    app_ctx.update(_app_config(preset))
    app_ctx.update(app_tree)

    def size(v: Path | bytes) -> int:
        return len(v) if isinstance(v, bytes) else (0 if v == Path(os.devnull) else v.stat().st_size)

    return BuildFacts(
        preset=preset, target=target, tag=tag or f"airlock/{preset.name}:{target}", app_src=src,
        deps_files=deps_files, app_files=app_ctx,
        sizes={**{f"deps:{k}": size(v) for k, v in deps_files.items()}, **{f"app:{k}": size(v) for k, v in app_ctx.items()}},
        needed=needed, store_sha=store_sha, base_refs={s: b.ref for s, b in bases.items()},
        deps_hash=dhash, deps_exist=exist, lock_digest=lockfile.read(project.lock_path(preset.name)).input_digest,
        parts=parts, prebuilt_exist=prebuilt_exist,
    )


def _deps_tags(preset: Preset, dhash: str) -> dict[str, str]:
    return {stage: f"airlock/{preset.name}:deps-{dhash[:16]}-{stage}" for stage in images.STAGES}


def plan_build(
    facts: BuildFacts, *, no_cache: bool = False, build_args: Mapping[str, str] | None = None, no_prebuilt: bool = False
) -> BuildPlan:
    """The build, decided from ``facts`` alone (pure: no I/O).

    =============================================  ==========================================
    facts                                          decision
    =============================================  ==========================================
    a file the deps context needs is not indexed   IntegrityError naming it (run inv sync)
    every compiled part prebuilt under its current take them prebuilt (PARTS=parts-prebuilt),
    key, no ``--no-prebuilt``                      deps hash :func:`prebuilt_deps_hash`; else
                                                   compile them, saying why
                                                   (:func:`airlock.prebuilt.decide_parts`)
    both deps tags exist, no ``--no-cache``        reuse the deps images (:func:`decide_deps`)
    otherwise                                      build the deps images
    target                                         tag ``airlock/<preset>:<target>`` unless given;
                                                   the image's base label: the runtime base for
                                                   ``runtime``, the builder for ``dev``
    the preset's CUDA                              ``io.airlock.cuda.min-driver`` label (the
                                                   driver the GPU probe checks against)
    =============================================  ==========================================
    """
    preset = facts.preset
    missing = [rel for rel in facts.needed if rel not in facts.store_sha]
    if missing:
        raise IntegrityError(f"artifacts/{preset.name}: {missing[0]} is not in manifest.json; run: inv sync --preset {preset.name}")
    parts = prebuilt.decide_parts(facts.parts, no_prebuilt)
    dhash, exist = facts.deps_hash, facts.deps_exist
    if parts.mode == "prebuilt":
        dhash, exist = prebuilt_deps_hash(facts.deps_hash, parts.sha256), facts.prebuilt_exist
    labels = {
        "org.opencontainers.image.title": f"{preset.name} ({facts.target})",
        "org.opencontainers.image.description": preset.description or f"airlock preset {preset.name}",
        "org.opencontainers.image.version": __version__,
        "org.opencontainers.image.vendor": "airlock",
        "org.opencontainers.image.base.name": facts.base_refs["runtime" if facts.target == "runtime" else "builder"],
        "io.airlock.preset": preset.name,
        "io.airlock.target": facts.target,
        "io.airlock.lock-digest": facts.lock_digest,
        "io.airlock.deps-hash": dhash,
        "io.airlock.parts": parts.mode,
        "io.airlock.python": preset.python.version,
        "io.airlock.torch": preset.torch.torch if preset.torch else "none",
        "io.airlock.cuda": preset.cuda.version if preset.cuda else "none",
        "io.airlock.cuda.min-driver": compat.preset_min_driver(preset) or "none",
        "io.airlock.tensorrt": preset.tensorrt.version if preset.tensorrt else "none",
        "io.airlock.ffmpeg": preset.ffmpeg.version if preset.ffmpeg else "none",
        "io.airlock.opencv": preset.opencv.version if preset.opencv else "none",
    }
    return BuildPlan(
        preset=preset.name,
        target=facts.target,
        tag=facts.tag,
        deps_hash=dhash,
        deps_tags=_deps_tags(preset, dhash),
        deps_action=decide_deps(exist, no_cache),
        base_refs=dict(facts.base_refs),
        app_src=facts.app_src,
        labels=labels,
        build_args=dict(build_args or {}),
        secrets=tuple(preset.app.secrets) if preset.app else (),
        deps_context={k.removeprefix("deps:"): v for k, v in facts.sizes.items() if k.startswith("deps:")},
        app_context={k.removeprefix("app:"): v for k, v in facts.sizes.items() if k.startswith("app:")},
        parts=parts,
    )


# -------------------------------------------------------------------- apply


@dataclass
class BuildResult:
    tag: str
    image_id: str
    size: int
    deps_action: str
    seconds: dict[str, float]


def _common_args(preset: Preset, plan: BuildPlan, no_cache: bool) -> list[str]:
    common = [
        "--network=none",
        "--progress=plain",
        "--build-arg", f"PYTHON_VERSION={preset.python.version}",
    ]
    if no_cache:
        common.append("--no-cache")
    for k, v in plan.build_args.items():
        common += ["--build-arg", f"{k}={v}"]
    return common


def apply_deps(
    project: Project,
    preset: Preset,
    plan: BuildPlan,
    deps_files: Mapping[str, Path | bytes],
    *,
    no_cache: bool = False,
    say=print,  # type: ignore[no-untyped-def]
    builder: docker.Builder | None = None,
    common: list[str] | None = None,
) -> float:
    """Build and tag the deps images (builder, runtime-deps) as ``plan`` says; return the seconds it took."""
    builder = builder or docker.detect_builder()
    common = common if common is not None else _common_args(preset, plan, no_cache)
    root = project.root / ".airlock" / "build" / preset.name
    t0 = time.monotonic()
    for stage in images.STAGES:
        images.ensure_loaded(images.base_image(preset, stage), project.artifacts(preset.name) / layout.IMAGES)
    store = project.artifacts(preset.name)
    files = {**deps_files, **{rel: store / rel for rel in plan.parts.archives}}  # prebuilt/<archive>: unpacked by parts-prebuilt
    sizes = _materialize(root / "deps", files)
    say(f"deps context {mb(sum(sizes.values()))} in {len(sizes)} files ({root / 'deps'})")
    deps_labels = {k: v for k, v in plan.labels.items() if k.startswith("io.airlock.") and k != "io.airlock.target"}
    for stage, target in (("builder", "builder"), ("runtime", "runtime-deps")):
        argv = builder.build_argv() + common + [
            "--build-arg", f"BUILDER_IMAGE={plan.base_refs['builder']}",
            "--build-arg", f"RUNTIME_IMAGE={plan.base_refs['runtime']}",
            *(["--build-arg", f"PARTS={prebuilt.STAGE['prebuilt']}"] if plan.parts.mode == "prebuilt" else []),
            "--target", target,
            "-t", plan.deps_tags[stage],
        ]
        for k, v in sorted(deps_labels.items()):
            argv += ["--label", f"{k}={v}"]
        argv.append(str(root / "deps"))
        run(argv, env=builder.env, stream=True, capture=False)
    return time.monotonic() - t0


def apply_build(
    project: Project,
    preset: Preset,
    plan: BuildPlan,
    deps_files: Mapping[str, Path | bytes],
    app_files_: Mapping[str, Path | bytes],
    *,
    no_cache: bool = False,
    secret_env: Mapping[str, str] | None = None,
    say=print,  # type: ignore[no-untyped-def]
) -> BuildResult:
    builder = docker.detect_builder()
    say(f"builder     {builder.describe()}")
    seconds: dict[str, float] = {}
    root = project.root / ".airlock" / "build" / preset.name

    common = _common_args(preset, plan, no_cache)

    if plan.deps_action == "build":
        seconds["deps"] = apply_deps(project, preset, plan, deps_files, no_cache=no_cache, say=say, builder=builder, common=common)
    else:
        say(f"deps        reusing {plan.deps_tags['builder']} and {plan.deps_tags['runtime']}")

    t0 = time.monotonic()
    sizes = _materialize(root / "app", app_files_)
    say(f"app context {mb(sum(sizes.values()))} in {len(sizes)} files ({root / 'app'})")
    argv = builder.build_argv() + common + [
        "--build-arg", f"DEPS_BUILDER={plan.deps_tags['builder']}",
        "--build-arg", f"DEPS_RUNTIME={plan.deps_tags['runtime']}",
        "--target", plan.target,
        "-t", plan.tag,
    ]
    labels = dict(plan.labels)
    labels["org.opencontainers.image.created"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    rev = _git_revision(plan.app_src)
    if rev:
        labels["org.opencontainers.image.revision"] = rev
    for k, v in sorted(labels.items()):
        argv += ["--label", f"{k}={v}"]
    with tempfile.TemporaryDirectory(prefix="airlock-secrets-") as tmp:
        if plan.secrets:
            env_file = Path(tmp) / "app.env"
            fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                for name in plan.secrets:
                    fh.write(f"{name}={shlex.quote((secret_env or {})[name])}\n")
            argv += ["--secret", f"id=app.env,src={env_file}"]
        argv.append(str(root / "app"))
        run(argv, env=builder.env, stream=True, capture=False)
    seconds["app"] = time.monotonic() - t0
    info = docker.inspect_image(plan.tag)
    return BuildResult(plan.tag, info["Id"], int(info.get("Size", 0)), plan.deps_action, seconds)


def _git_revision(path: Path) -> str:
    """The app tree's commit, or "" where it is no git checkout (or git is missing or hangs)."""
    try:
        proc = run(["git", "-C", str(path), "rev-parse", "HEAD"], check=False, timeout=10)
    except CommandError:  # git not found, or timed out
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""
