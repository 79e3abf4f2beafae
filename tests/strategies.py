"""Hypothesis strategies for airlock's formats (other format strategies may be appended)."""

from __future__ import annotations

from hypothesis import strategies as st

from airlock.lockfile import Lockfile, Pin

# ------------------------------------------------------------------ lockfile

preset_names = st.from_regex(r"[a-z0-9](?:[._-]?[a-z0-9]){0,20}", fullmatch=True)
sha256_hex = st.binary(min_size=32, max_size=32).map(bytes.hex)
digests = sha256_hex.map(lambda h: f"sha256:{h}")
#: distribution names as written (mixed case and separators; compared canonicalised)
dist_names = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9]|[._-][A-Za-z0-9]){0,15}", fullmatch=True)
versions = st.from_regex(r"[0-9]{1,4}(?:\.[0-9]{1,4}){0,3}(?:(?:a|b|rc|\.post|\.dev)[0-9]{1,2})?(?:\+[a-z0-9]{1,8})?", fullmatch=True)
extras = st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), max_size=3, unique=True).map(tuple)
markers = st.none() | st.sampled_from(
    [
        "python_version < '3.12'",
        "platform_machine == 'x86_64' and sys_platform == 'linux'",
        'python_full_version >= "3.10.1"',
        "extra == 'gpu' or implementation_name != 'pypy'",
        "(os_name == 'posix')",
    ]
)
#: an annotation such as "fastapi", "-r presets/x.in", "preset debian12-cpu-py3.11";
#: one line, no surrounding blanks (as pip-tools and uv write them)
via_items = st.from_regex(r"[A-Za-z0-9_.()\-/](?:[A-Za-z0-9_.()\-/ =<>]{0,30}[A-Za-z0-9_.()\-/])?", fullmatch=True)
urls = st.sampled_from(
    ["https://pypi.org/simple", "https://download.pytorch.org/whl/cu118", "https://example.org/simple/", "file:///srv/index"]
)
engines = st.sampled_from(["uv 0.13.9", "pip-tools 7.6.2", "uv 1.0.0-rc.1"])
targets = st.sampled_from(["cp311 linux/amd64 glibc2.36", "cp310 linux/amd64 glibc2.35", "cp312 linux/arm64 glibc2.39"])


@st.composite
def pins(draw: st.DrawFn) -> Pin:
    return Pin(
        name=draw(dist_names),
        version=draw(versions),
        hashes=tuple(draw(st.lists(sha256_hex, min_size=1, max_size=5, unique=True))),
        via=tuple(draw(st.lists(via_items, max_size=4))),
        marker=draw(markers),
        extras=draw(extras),
    )


@st.composite
def lockfiles(draw: st.DrawFn) -> Lockfile:
    return Lockfile(
        preset=draw(preset_names),
        engine=draw(engines),
        target=draw(targets),
        input_digest=draw(digests),
        index_url=draw(urls),
        extra_index_urls=tuple(draw(st.lists(urls, max_size=2))),
        pins=tuple(draw(st.lists(pins(), max_size=8))),
    )


# ------------------------------------------------------------------ system lock


deb_names = st.from_regex(r"[a-z0-9][a-z0-9+.-]{0,20}", fullmatch=True)
deb_versions = st.from_regex(r"(?:[0-9]:)?[0-9]{1,3}(?:\.[0-9]{1,3}){0,2}(?:[~+][a-z0-9.]{1,8})?(?:-[0-9a-z.~+]{1,10})?", fullmatch=True)
deb_arches = st.sampled_from(["amd64", "all", "arm64"])
origins = st.sampled_from(["Debian:12.12/stable", "Ubuntu:22.04/jammy, Ubuntu:22.04/jammy-updates", "", "Debian-Security:12/stable-security"])


@st.composite
def deb_pins(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    from airlock import debs, syslock

    name, version, arch = draw(deb_names), draw(deb_versions), draw(deb_arches)
    fn = debs.deb_filename(name, version, arch)
    return syslock.DebPin(package=name, version=version, arch=arch, size=draw(st.integers(0, 2**40)), sha256=draw(sha256_hex),
                          filename=fn, url=f"http://deb.debian.org/debian/pool/main/x/{name}/{fn}", origin=draw(origins))


@st.composite
def base_pins(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    from airlock import syslock

    installed = tuple(syslock.Installed(name=n, version=v, arch=a) for n, v, a in draw(
        st.lists(st.tuples(deb_names, deb_versions, deb_arches), max_size=5, unique_by=lambda t: (t[0], t[2]))))
    if draw(st.booleans()):
        sha = draw(sha256_hex)
        return syslock.BasePin(ref="nvidia/cuda:12.1.1-runtime-ubuntu22.04", digest=f"nvidia/cuda@sha256:{sha}", image_id=f"sha256:{sha}", installed=installed)
    return syslock.BasePin(ref="airlock-base/debian12:bookworm-minbase-f8f9def88e62", suite="bookworm", mirror="http://deb.debian.org/debian",
                           variant="minbase", components=("main",), keyring_sha256=draw(st.none() | sha256_hex), installed=installed)


@st.composite
def system_locks(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    from airlock import syslock

    stages = {s: syslock.StageLock(base=draw(base_pins()), packages=tuple(draw(st.lists(deb_names, max_size=4))), debs=tuple(draw(st.lists(deb_pins(), max_size=4))))
              for s in ("builder", "runtime")}
    return syslock.SystemLock(schema=1, preset=draw(preset_names), platform=draw(st.sampled_from(["linux/amd64", "linux/arm64"])),
                              inputs=draw(digests), locked="20261126T120000Z", stages=stages)  # type: ignore[arg-type]
