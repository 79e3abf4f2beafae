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
