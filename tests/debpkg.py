"""Debian packages made in a test: an ar archive around control and data tarballs, any compression dpkg writes."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
from pathlib import Path

import zstandard

from airlock import debfile

COMPRESS = {
    "": lambda b: b,
    ".gz": gzip.compress,
    ".xz": lzma.compress,
    ".bz2": bz2.compress,
    ".zst": lambda b: zstandard.ZstdCompressor().compress(b),
}


def tar_bytes(files: dict[str, bytes], *, dirs: tuple[str, ...] = (), links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


def ar_bytes(members: list[tuple[str, bytes]]) -> bytes:
    out = bytearray(debfile.AR_MAGIC)
    for name, data in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}".encode() + b"`\n" + data
        if len(data) % 2:
            out += b"\n"
    return bytes(out)


def make_deb(tmp_path: Path, data_tar: bytes, ext: str = ".xz", *, version: bytes = b"2.0\n") -> Path:
    deb = tmp_path / "ubuntu-keyring_2021.03.26_all.deb"
    deb.write_bytes(ar_bytes([("debian-binary", version), ("control.tar.xz", lzma.compress(tar_bytes({"./control": b"Package: x\n"}))),
                         (f"data.tar{ext}", COMPRESS[ext](data_tar))]))
    return deb
