"""Read one file out of a Debian package without dpkg.

A ``.deb`` is an ``ar`` archive (``!<arch>\\n``, then 60-byte member headers) holding
``debian-binary``, ``control.tar.*`` and ``data.tar.*``; the files it installs are in
``data.tar`` compressed with gzip, xz, bzip2 or zstd (Ubuntu's dpkg has used zstd since
21.10). airlock needs this for one thing today: taking an archive keyring out of its
sha256-pinned keyring package (``base.<stage>.bootstrap.keyring.member``), on a host that
may have no dpkg at all. Every malformed input is a :class:`DebError` naming the package.
"""

from __future__ import annotations

import io
import lzma
import posixpath
import tarfile
import zlib
from pathlib import Path

from airlock.errors import IntegrityError

AR_MAGIC = b"!<arch>\n"
_HEADER = 60
#: Hard ceilings: a keyring package is ~20 kB; nothing read here is allowed to grow without bound.
MAX_MEMBER = 256 << 20


class DebError(IntegrityError):
    """The file is not a readable Debian package, or lacks the member asked for."""


def _ar_members(data: bytes, where: str) -> dict[str, bytes]:
    if not data.startswith(AR_MAGIC):
        raise DebError(f"{where}: not a Debian package (no ar header)")
    out: dict[str, bytes] = {}
    pos = len(AR_MAGIC)
    while pos < len(data):
        head = data[pos : pos + _HEADER]
        if len(head) < _HEADER or head[58:60] != b"`\n":
            raise DebError(f"{where}: truncated or malformed ar member header at byte {pos}")
        name = head[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(head[48:58].decode("ascii").strip())
        except ValueError:
            raise DebError(f"{where}: ar member {name!r} has a malformed size field") from None
        start = pos + _HEADER
        if size < 0 or size > MAX_MEMBER or start + size > len(data):
            raise DebError(f"{where}: ar member {name!r} claims {size} bytes past the end of the file")
        if name in out:
            raise DebError(f"{where}: ar member {name!r} appears twice")
        out[name] = data[start : start + size]
        pos = start + size + (size & 1)  # members are 2-byte aligned
    return out


def _decompress(name: str, blob: bytes, where: str) -> bytes:
    if name.endswith(".zst"):
        import zstandard

        try:
            return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(blob)).read(MAX_MEMBER + 1)
        except zstandard.ZstdError as exc:
            raise DebError(f"{where}: {name}: corrupt zstd data ({exc})") from None
    return blob  # tarfile reads gzip, xz, bzip2 and plain tar itself


#: data.tar member name -> tarfile mode (zstd is decompressed first).
_TAR_MODES = {"data.tar": "r:", "data.tar.gz": "r:gz", "data.tar.xz": "r:xz", "data.tar.bz2": "r:bz2", "data.tar.zst": "r:"}


def extract_member(deb: Path, member: str, *, where: str | None = None) -> bytes:
    """The bytes of ``member`` (a path such as ``usr/share/keyrings/x.gpg``) in ``deb``'s data.tar.

    ``where`` names the input in errors (a preset field); it defaults to the file's path.
    """
    label = where or str(deb)
    want = posixpath.normpath(member.lstrip("/"))
    try:
        data = Path(deb).read_bytes()
    except OSError as exc:
        raise DebError(f"{label}: cannot read ({exc.strerror or exc})") from None
    members = _ar_members(data, label)
    if members.get("debian-binary", b"").strip() != b"2.0":
        raise DebError(f"{label}: not a Debian binary package (debian-binary is not 2.0)")
    names = [n for n in members if n.startswith("data.tar")]
    if len(names) != 1:
        raise DebError(f"{label}: expected one data.tar.* member, found {names or 'none'}")
    name = names[0]
    mode = _TAR_MODES.get(name)
    if mode is None:
        raise DebError(f"{label}: {name}: unknown compression (known: {', '.join(sorted(_TAR_MODES))})")
    tar_bytes = _decompress(name, members[name], label)
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode=mode) as tar:
            for info in tar:
                if posixpath.normpath(info.name.removeprefix("./")) != want:
                    continue
                if not info.isreg():
                    raise DebError(f"{label}: {member} is not a regular file in the package")
                if info.size > MAX_MEMBER:
                    raise DebError(f"{label}: {member} is {info.size} bytes, more than a keyring can be")
                fh = tar.extractfile(info)
                assert fh is not None
                return fh.read()
    except (tarfile.TarError, EOFError, OSError, lzma.LZMAError, zlib.error) as exc:
        why = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DebError(f"{label}: {name} is not a readable tar archive ({why})") from None
    raise DebError(f"{label}: the package has no file {want}")
