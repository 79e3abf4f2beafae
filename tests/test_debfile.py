"""Taking one file out of a .deb without dpkg: every compression dpkg writes, and one DebError for every bad package."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airlock import debfile
from airlock.debfile import DebError, extract_member
from tests.debpkg import COMPRESS, ar_bytes, make_deb, tar_bytes

KEYS = b"\x99\x01\x0d-pretend-openpgp-keyring-bytes"
MEMBER = "usr/share/keyrings/ubuntu-archive-keyring.gpg"


@pytest.mark.parametrize("ext", sorted(COMPRESS))
def test_extracts_the_member_from_every_data_tar_compression(tmp_path: Path, ext: str) -> None:
    """data.tar, .gz, .xz, .bz2 and .zst (Ubuntu's dpkg default since 21.10) all give back the member's exact bytes."""
    deb = make_deb(tmp_path, tar_bytes({f"./{MEMBER}": KEYS, "./usr/share/doc/x/copyright": b"c" * 3}, dirs=("./", "./usr/")), ext)
    assert extract_member(deb, MEMBER) == KEYS
    assert extract_member(deb, "/" + MEMBER) == KEYS  # an absolute spelling names the same file


def test_a_missing_member_is_named(tmp_path: Path) -> None:
    """A package without the file says which file it lacks, under the caller's label."""
    deb = make_deb(tmp_path, tar_bytes({"./usr/share/keyrings/other.gpg": KEYS}))
    with pytest.raises(DebError, match=rf"^base.builder.bootstrap.keyring: the package has no file {MEMBER}$"):
        extract_member(deb, MEMBER, where="base.builder.bootstrap.keyring")


def test_a_symlink_or_directory_is_not_a_keyring(tmp_path: Path) -> None:
    """Only a regular file is returned: a symlink in the package (to /etc/passwd, say) is refused, not followed."""
    deb = make_deb(tmp_path, tar_bytes({}, links={f"./{MEMBER}": "/etc/passwd"}))
    with pytest.raises(DebError, match="is not a regular file"):
        extract_member(deb, MEMBER)
    deb = make_deb(tmp_path, tar_bytes({}, dirs=(f"./{MEMBER}",)))
    with pytest.raises(DebError, match="is not a regular file"):
        extract_member(deb, MEMBER)


@pytest.mark.parametrize(
    ("blob", "words"),
    [
        (b"", "not a Debian package (no ar header)"),
        (b"<html>404 Not Found</html>", "not a Debian package (no ar header)"),
        (debfile.AR_MAGIC + b"debian-binary   0", "truncated or malformed ar member header"),
        (ar_bytes([("debian-binary", b"2.0\n")])[:-2], "past the end of the file"),
        (ar_bytes([("debian-binary", b"2.0\n"), ("debian-binary", b"2.0\n")]), "appears twice"),
        (ar_bytes([("debian-binary", b"3.0\n"), ("data.tar", b"")]), "debian-binary is not 2.0"),
        (ar_bytes([("debian-binary", b"2.0\n")]), "expected one data.tar.* member, found none"),
        (ar_bytes([("debian-binary", b"2.0\n"), ("data.tar.xz", b"not xz")]), "is not a readable tar archive"),
        (ar_bytes([("debian-binary", b"2.0\n"), ("data.tar.zst", b"not zstd")]), "corrupt zstd data"),
    ],
)
def test_a_malformed_package_is_one_line_naming_it(tmp_path: Path, blob: bytes, words: str) -> None:
    """Each way a .deb can be broken is a DebError (exit 1) naming the file, never a traceback."""
    deb = tmp_path / "k.deb"
    deb.write_bytes(blob)
    with pytest.raises(DebError) as exc:
        extract_member(deb, MEMBER)
    assert str(exc.value).startswith(f"{deb}: ") and words in str(exc.value) and "\n" not in str(exc.value)
    assert exc.value.exit_code == 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(blob=st.binary(max_size=512), prefix=st.sampled_from([b"", debfile.AR_MAGIC, ar_bytes([("debian-binary", b"2.0\n")])]))
def test_arbitrary_bytes_give_a_deb_error_only(tmp_path: Path, blob: bytes, prefix: bytes) -> None:
    """Whatever the bytes, extract_member returns the member or raises DebError: nothing else escapes."""
    deb = tmp_path / "fuzz.deb"
    deb.write_bytes(prefix + blob)
    with pytest.raises(DebError):
        extract_member(deb, MEMBER)
