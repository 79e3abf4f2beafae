"""Base images: their references, how sync saves them, how build loads them.

A preset's base is either a registry image (``base.builder.image``) or one airlock
makes locally with debootstrap (``base.builder.bootstrap``) where no registry can
serve one. Either way sync saves it as a tarball in ``artifacts/<preset>/images/``
and build loads it from there when the engine lacks it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from airlock import debfile, docker, fetch, runner
from airlock.errors import ExternalError, HashMismatch, IntegrityError
from airlock.presets import Base, Preset
from airlock.runner import Runner
from airlock.store import layout

STAGES = ("builder", "runtime")


@dataclass(frozen=True)
class BaseImage:
    ref: str
    base: Base
    field: str  # the preset field it comes from: base.builder or base.runtime

    @property
    def tar_name(self) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.ref) + ".tar"

    @property
    def bootstrapped(self) -> bool:
        return self.base.bootstrap is not None


def base_image(preset: Preset, stage: str) -> BaseImage:
    base: Base = getattr(preset.base, stage)
    if base.image is not None:
        return BaseImage(base.image, base, f"base.{stage}")
    bs = base.bootstrap
    assert bs is not None
    spec = bs.model_dump(mode="json")
    # Fields added later count only when set, so existing bootstrapped refs (and their tarballs) stay valid.
    for key in ("suites", "keyring"):
        if not spec[key]:
            del spec[key]
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
    return BaseImage(f"airlock-base/{preset.os}:{bs.suite}-{bs.variant}-{digest}", base, f"base.{stage}")


def base_images(preset: Preset) -> list[BaseImage]:
    """The distinct base images of a preset (builder first)."""
    out: list[BaseImage] = []
    for stage in STAGES:
        img = base_image(preset, stage)
        if img.ref not in [o.ref for o in out]:
            out.append(img)
    return out


def make_available(img: BaseImage, platform: str, *, run: Runner = runner.run) -> None:
    """Get ``img`` into the engine for sync: already there, bootstrapped here, or pulled (commands through ``run``).

    An empty image under a bootstrapped ref (what an import on a full disk leaves) is removed and bootstrapped again.
    """
    size = _image_size(img.ref, run)
    if size is not None and (size > 0 or not img.bootstrapped):
        return
    if img.bootstrapped:
        if size == 0:
            run([docker.client(), "image", "rm", "-f", img.ref], check=False)
        bootstrap(img, run=run)
        return
    proc = run([docker.client(), "pull", "--platform", platform, img.ref], check=False)
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        raise ExternalError(
            f"base image {img.ref}: docker pull failed ({last[0]}); load it into the engine "
            "(docker load -i ...) and run inv sync again"
        )


def bootstrap(img: BaseImage, *, run: Runner = runner.run, which: Callable[[str], str | None] = shutil.which) -> None:
    """debootstrap a minimal rootfs and import it into the engine as ``img.ref``.

    ``run`` runs debootstrap, tar and ``docker import``; ``which`` finds debootstrap. Tests pass
    their own (the real ones are the defaults) rather than patching this module.
    """
    bs = img.base.bootstrap
    assert bs is not None
    if which("debootstrap") is None:
        raise ExternalError("debootstrap is not installed (apt-get install debootstrap, or ./bootstrap.sh setup)")
    with tempfile.TemporaryDirectory(prefix="airlock-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        keyring = [f"--keyring={fetch_keyring(img, Path(tmp))}"] if bs.keyring is not None else []
        argv = [
            "debootstrap", f"--variant={bs.variant}", f"--components={','.join(bs.components)}", *keyring,
            bs.suite, str(rootfs), bs.mirror,
        ]
        proc = run(argv, timeout=1800, check=False)
        if proc.returncode != 0:
            log_file = rootfs / "debootstrap" / "debootstrap.log"
            log_text = log_file.read_text(errors="replace") if log_file.is_file() else ""
            raise ExternalError(
                f"{img.field}.bootstrap: debootstrap {bs.suite} from {bs.mirror} failed (exit {proc.returncode}): "
                + explain_debootstrap_failure((proc.stdout or "") + (proc.stderr or ""), log_text)
            )
        (rootfs / "etc/apt/sources.list").write_text(bs.sources_list())
        # Keep the image small and free of a stale package cache: sync resolves .debs afresh.
        for sub in ("var/cache/apt/archives", "var/lib/apt/lists"):
            d = rootfs / sub
            for f in d.glob("*"):
                if f.is_file():
                    f.unlink()
        tar = Path(tmp) / "rootfs.tar"
        run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tar), "."])
        run(
            [
                docker.client(), "import",
                "--change", 'CMD ["/bin/bash"]',
                "--change", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--change", "ENV LANG=C.UTF-8",
                str(tar), img.ref,
            ]
        )
        if not _image_size(img.ref, run):
            # Seen when the engine's disk filled during the import: exit 0 and an image with no files.
            run([docker.client(), "image", "rm", "-f", img.ref], check=False)
            raise ExternalError(
                f"{img.field}.bootstrap: docker import of the {bs.suite} rootfs ({tar.stat().st_size} bytes) gave an empty "
                f"image {img.ref}, removed; is the engine's disk full? (docker system df)"
            )


def _image_size(ref: str, run: Runner) -> int | None:
    """The engine's size of ``ref`` in bytes (None: no such image)."""
    proc = run([docker.client(), "image", "inspect", "--format", "{{.Size}}", ref], check=False)
    if proc.returncode != 0:
        return None
    try:
        return int(proc.stdout.strip())
    except ValueError:
        return None


def fetch_keyring(img: BaseImage, tmp: Path) -> Path:
    """Download the pinned keyring (taking it out of its package when ``member`` is set) into ``tmp``.

    Every failure names the preset field and says whether it was the network, the server
    (an HTTP status: upstream moved the file) or the checksum.
    """
    bs = img.base.bootstrap
    assert bs is not None and bs.keyring is not None
    ring = bs.keyring
    field = f"{img.field}.bootstrap.keyring"
    fetched = tmp / ("keyring.deb" if ring.member else "keyring.gpg")
    try:
        got = fetch.download(ring.url, fetched, ring.sha256)
    except HashMismatch as exc:
        # Name the preset field to edit, not the temporary file.
        raise HashMismatch(f"{field} ({ring.url})", exc.expected, exc.actual) from None
    except ExternalError as exc:
        raise ExternalError(f"{field}: {exc}") from None
    if ring.member is None:
        return got.path
    out = tmp / "keyring.gpg"
    out.write_bytes(debfile.extract_member(got.path, ring.member, where=f"{field} ({ring.url})"))
    return out


#: debootstrap.log (wget's output) -> the cause, first match wins.
_DEBOOTSTRAP_CAUSES: tuple[tuple[str, str], ...] = (
    (r"ERROR 404", "HTTP 404: the mirror has no such file (wrong mirror, suite or component, or moved upstream)"),
    (r"ERROR (\d{3})", "HTTP {0} from the mirror"),
    (r"unable to resolve host address '([^']+)'", "network: cannot resolve {0}"),
    (r"(Connection refused|Connection timed out|Network is unreachable|No route to host|Read error)", "network: {0}"),
)
#: debootstrap's own E: line -> the cause, where the log has none.
_DEBOOTSTRAP_E_CAUSES: tuple[tuple[str, str], ...] = (
    (r"signed by unknown key|Invalid Release signature|not signed", "signature: the pinned keyring does not hold the key that signs this suite"),
    (r"[Cc]hecksum|Size mismatch|Hash Sum mismatch", "checksum: a file differs from what the suite's Release lists"),
)


def explain_debootstrap_failure(output: str, log: str) -> str:
    """One line from debootstrap's output and its log: which URL failed and why (network, HTTP status, signature, checksum)."""
    errors = [ln[3:].strip() for ln in output.splitlines() if ln.startswith("E: ")]
    what = errors[-1] if errors else (output.strip().splitlines() or ["no output"])[-1].strip()
    for pattern, template in _DEBOOTSTRAP_E_CAUSES:
        if re.search(pattern, what):
            return f"{what}; cause: {template}"
    for pattern, template in _DEBOOTSTRAP_CAUSES:
        m = re.search(pattern, log)
        if m:
            return f"{what}; cause: {template.format(*m.groups())}"
    return f"{what}; cause: unknown (see the output above)"


def image_id_from_tar(tar: Path) -> str | None:
    """The image id recorded in a ``docker save`` tarball, without loading it."""
    try:
        with tarfile.open(tar) as tf:
            member = tf.extractfile("manifest.json")
            if member is None:
                return None
            data = json.load(member)
    except (OSError, tarfile.TarError, KeyError, ValueError, RecursionError):
        return None
    try:
        config = data[0]["Config"]
    except (IndexError, KeyError, TypeError):
        return None
    if not isinstance(config, str):
        return None
    digest = config.rsplit("/", 1)[-1].removesuffix(".json")
    return f"sha256:{digest}" if len(digest) == 64 else None


def save(img: BaseImage, dest: Path) -> None:
    """``docker save`` into ``dest`` atomically."""
    part = layout.part_of(dest)
    part.unlink(missing_ok=True)
    docker.save(img.ref, part)
    part.replace(dest)


def ensure_loaded(img: BaseImage, images_dir: Path) -> str:
    """For build: the engine's image id of ``img``, the store's tarball's where the store has one.

    An image under the same tag that is not the tarball's (a base bootstrapped again on this
    machine, say) is replaced by loading the tarball: the store is what verify vouched for.
    """
    tar = images_dir / img.tar_name
    got = docker.image_id(img.ref)
    want = image_id_from_tar(tar) if tar.is_file() else None
    if got and (want is None or got == want):
        return got
    if not tar.is_file():
        raise IntegrityError(f"base image {img.ref} is neither in the engine nor at {tar}; run: inv sync --only images")
    docker.load(tar)
    got = docker.image_id(img.ref)
    if not got:
        raise IntegrityError(f"{tar}: loading it did not provide {img.ref}")
    if want is not None and got != want:
        raise IntegrityError(f"{tar}: loading it left {img.ref} at {got[:19]}, not the tarball's {want[:19]}")
    return got


def for_resolving(img: BaseImage, store: Path, platform: str) -> str:
    """The id of the base the build will load: the store's saved tarball where there is one (loaded
    over an engine image of the same tag that is not it), made anew (pull, debootstrap) only where
    the store has none; .debs (lock and sync) and sdist builds are resolved against it."""
    if (store / layout.image(img.tar_name)).is_file():
        return ensure_loaded(img, store / layout.IMAGES)
    make_available(img, platform)
    return docker.image_id(img.ref) or "unknown"


DPKG_STATUS = "var/lib/dpkg/status"


def dpkg_status_from_tar(tar: Path) -> str | None:
    """The text of ``var/lib/dpkg/status`` in a ``docker save`` tarball (its top-most layer holding one), read
    in Python without loading it; None when the tarball is unreadable or has none. A whiteout of the file counts
    as its removal."""
    try:
        with tarfile.open(tar) as tf:
            member = tf.extractfile("manifest.json")
            if member is None:
                return None
            layers = json.load(member)[0]["Layers"]
            if not isinstance(layers, list):
                return None
            for name in reversed(layers):
                blob = tf.extractfile(str(name))
                if blob is None:
                    return None
                with tarfile.open(fileobj=blob, mode="r:*") as layer:
                    found: str | None = None
                    for m in layer:
                        path = m.name.removeprefix("./").lstrip("/")
                        if path == DPKG_STATUS and m.isfile():
                            data = layer.extractfile(m)
                            found = data.read().decode("utf-8", "replace") if data else None
                        elif path == "var/lib/dpkg/.wh.status":
                            return None
                    if found is not None:
                        return found
    except (OSError, tarfile.TarError, KeyError, IndexError, TypeError, ValueError, RecursionError, EOFError):
        return None
    return None


def repo_digest(ref: str) -> str | None:
    """The registry digest (``repo@sha256:…``) the engine recorded for a pulled ``ref``; None for a local image."""
    try:
        digests = docker.inspect_image(ref).get("RepoDigests") or []
    except ExternalError:
        return None
    return str(digests[0]) if digests else None
