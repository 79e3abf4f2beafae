"""A bootstrapped base's failures say which URL failed and why: the network, an HTTP status, a signature or a checksum.

The keyring comes out of a sha256-pinned keyring package served over loopback HTTP, and
debootstrap itself runs for real against a loopback mirror that has nothing to serve.
"""

from __future__ import annotations

import functools
import http.server
import os
import socket
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from airlock import images
from airlock.errors import ExternalError, HashMismatch
from airlock.fetch import sha256_hex
from airlock.presets import Base, Bootstrap, Keyring
from tests.debpkg import make_deb, tar_bytes

KEYS = b"\x99\x01\x0d-pretend-openpgp-keyring-bytes"
MEMBER = "usr/share/keyrings/ubuntu-archive-keyring.gpg"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over loopback HTTP: (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _image(mirror: str = "http://deb.debian.org/debian", keyring: Keyring | None = None) -> images.BaseImage:
    return images.BaseImage("airlock-base/test:x", Base(bootstrap=Bootstrap(suite="bookworm", mirror=mirror, keyring=keyring)), "base.builder")


def test_keyring_is_taken_out_of_its_pinned_package(served: tuple[Path, str], tmp_path: Path) -> None:
    """With ``member``, the fetched .deb is checked against its sha256 and the keyring file inside it is what debootstrap gets."""
    root, url = served
    deb = make_deb(root, tar_bytes({f"./{MEMBER}": KEYS}))
    ring = Keyring(url=f"{url}/{deb.name}", sha256=sha256_hex(deb.read_bytes()), member=MEMBER)
    out = images.fetch_keyring(_image(keyring=ring), tmp_path)
    assert out.read_bytes() == KEYS


def test_keyring_without_member_is_the_file_itself(served: tuple[Path, str], tmp_path: Path) -> None:
    """Without ``member`` the pinned file is handed to debootstrap as it is."""
    root, url = served
    (root / "keys.gpg").write_bytes(KEYS)
    out = images.fetch_keyring(_image(keyring=Keyring(url=f"{url}/keys.gpg", sha256=sha256_hex(KEYS))), tmp_path)
    assert out.read_bytes() == KEYS


def test_keyring_404_names_the_field_the_url_and_the_status(served: tuple[Path, str], tmp_path: Path) -> None:
    """An upstream that moved the file: one line with the preset field, the URL and HTTP 404, exit 3."""
    _, url = served
    ring = Keyring(url=f"{url}/pool/main/u/ubuntu-keyring/gone.deb", sha256="0" * 64, member=MEMBER)
    with pytest.raises(ExternalError) as exc:
        images.fetch_keyring(_image(keyring=ring), tmp_path)
    assert str(exc.value).startswith(f"base.builder.bootstrap.keyring: {ring.url}: HTTP 404 ")
    assert exc.value.exit_code == 3


def test_keyring_network_failure_says_network(tmp_path: Path) -> None:
    """Nothing listening: the line says it is the network, not the file."""
    ring = Keyring(url=f"http://127.0.0.1:{_closed_port()}/k.deb", sha256="0" * 64, member=MEMBER)
    with pytest.raises(ExternalError) as exc:
        images.fetch_keyring(_image(keyring=ring), tmp_path)
    assert str(exc.value).startswith(f"base.builder.bootstrap.keyring: {ring.url}: network error (")


def test_keyring_package_with_other_bytes_is_a_checksum_failure(served: tuple[Path, str], tmp_path: Path) -> None:
    """A package whose bytes differ from the pin is refused before anything is extracted, naming both digests."""
    root, url = served
    deb = make_deb(root, tar_bytes({f"./{MEMBER}": KEYS}))
    ring = Keyring(url=f"{url}/{deb.name}", sha256="1" * 64, member=MEMBER)
    with pytest.raises(HashMismatch) as exc:
        images.fetch_keyring(_image(keyring=ring), tmp_path)
    assert str(exc.value) == (
        f"base.builder.bootstrap.keyring ({ring.url}): sha256 mismatch: expected {'1' * 64}, got {sha256_hex(deb.read_bytes())}"
    )
    assert not (tmp_path / "keyring.gpg").exists()


#: (debootstrap's output, its debootstrap.log) as seen on this machine -> the cause it must name.
FAILURES = [
    ("I: Retrieving InRelease \nE: Failed getting release file http://127.0.0.1:8765/debian/dists/bookworm/Release\n",
     "http://127.0.0.1:8765/debian/dists/bookworm/Release:\n2026-11-26 12:38:42 ERROR 404: File not found.\n",
     "Failed getting release file http://127.0.0.1:8765/debian/dists/bookworm/Release; cause: HTTP 404: the mirror has no such file"),
    ("E: Failed getting release file http://m/debian/dists/bookworm/Release\n", "2026-11-26 ERROR 503: Service Unavailable.\n",
     "cause: HTTP 503 from the mirror"),
    ("E: Failed getting release file http://nonexistent.invalid/debian/dists/bookworm/Release\n",
     "wget: unable to resolve host address 'nonexistent.invalid'\n", "cause: network: cannot resolve nonexistent.invalid"),
    ("E: Failed getting release file http://127.0.0.1:1/debian/dists/bookworm/Release\n", "failed: Connection refused.\n",
     "cause: network: Connection refused"),
    ("E: Release signed by unknown key (key id 871920D1991BC93C)\n", "",
     "Release signed by unknown key (key id 871920D1991BC93C); cause: signature: the pinned keyring does not hold the key"),
    ("E: Invalid Release file, no entry for main/binary-amd64/Packages\nE: Couldn't download packages: Size mismatch\n", "",
     "cause: checksum: a file differs from what the suite's Release lists"),
    ("something odd\n", "", "something odd; cause: unknown (see the output above)"),
]


@pytest.mark.parametrize(("output", "log", "words"), FAILURES)
def test_debootstrap_failure_is_explained(output: str, log: str, words: str) -> None:
    """debootstrap's last E: line and the cause read off its wget log, in one line."""
    line = images.explain_debootstrap_failure(output, log)
    assert words in line and "\n" not in line


def test_real_debootstrap_against_an_empty_mirror_names_url_and_404(served: tuple[Path, str]) -> None:
    """debootstrap run for real against a loopback mirror with no suite: the one line names the field, the Release URL and HTTP 404."""
    _, url = served
    with pytest.raises(ExternalError) as exc:
        images.bootstrap(_image(mirror=f"{url}/debian"))
    msg = str(exc.value)
    assert msg.startswith(f"base.builder.bootstrap: debootstrap bookworm from {url}/debian failed (exit 1): ")
    assert f"Failed getting release file {url}/debian/dists/bookworm/Release; cause: HTTP 404" in msg


class _Engine:
    """Stands in for debootstrap, tar and the docker client: records each command; the image's size is ``sizes``' next."""

    def __init__(self, *sizes: str) -> None:
        self.sizes = list(sizes)
        self.ran: list[list[str]] = []

    def __call__(self, argv: Sequence[str | os.PathLike[str]], **_: object) -> subprocess.CompletedProcess[str]:
        args = [os.fspath(a) for a in argv]
        self.ran.append(args)
        if args[0] == "debootstrap":
            (Path(args[-2]) / "etc" / "apt").mkdir(parents=True)
        elif args[0] == "tar":
            Path(args[args.index("-cf") + 1]).write_bytes(b"\0" * 10240)
        elif args[1:3] == ["image", "inspect"]:
            size = self.sizes.pop(0)
            return subprocess.CompletedProcess(args, 1 if size == "missing" else 0, "" if size == "missing" else size + "\n", "")
        return subprocess.CompletedProcess(args, 0, "", "")

    def verbs(self) -> list[str]:
        return [a[0] if a[0] in ("debootstrap", "tar") else " ".join(a[1:3]) for a in self.ran]


def test_an_import_that_gives_an_empty_image_is_removed_and_named() -> None:
    """docker import exiting 0 with an image of no files (a full disk did that): the image is removed, one line says so."""
    engine = _Engine("0")
    with pytest.raises(ExternalError) as exc:
        images.bootstrap(_image(), run=engine, which=lambda _: "/usr/sbin/debootstrap")
    msg = str(exc.value)
    assert msg.startswith("base.builder.bootstrap: docker import of the bookworm rootfs (10240 bytes) gave an empty image airlock-base/test:x, removed")
    assert "disk full" in msg and "\n" not in msg
    assert engine.verbs() == ["debootstrap", "tar", "import --change", "image inspect", "image rm"], engine.ran


def test_an_empty_bootstrapped_base_in_the_engine_is_bootstrapped_again() -> None:
    """make_available: an empty image under a bootstrapped ref is removed and made anew; a real one is taken as it is."""
    engine = _Engine("0", "94371840")
    images.make_available(_image(), "linux/amd64", run=engine)
    assert engine.verbs()[0:3] == ["image inspect", "image rm", "debootstrap"] and engine.verbs()[-1] == "image inspect"
    kept = _Engine("94371840")
    images.make_available(_image(), "linux/amd64", run=kept)
    assert kept.verbs() == ["image inspect"]
    missing = _Engine("missing", "94371840")
    images.make_available(_image(), "linux/amd64", run=missing)
    assert missing.verbs()[0:2] == ["image inspect", "debootstrap"]
