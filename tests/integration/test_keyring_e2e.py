"""Ubuntu's trust anchor, for real: the pinned keyring package is still served, and the keyring in it checks jammy's InRelease."""

from __future__ import annotations

import subprocess
import urllib.request
from pathlib import Path

import pytest

from airlock import compat, images
from airlock.presets import Base, Bootstrap, Keyring
from tests.conftest import JAMMY

pytestmark = [pytest.mark.network]


def test_pinned_ubuntu_keyring_package_verifies_jammy_release(tmp_path: Path) -> None:
    """The rule's suggested pin and the test fixture are the same package; its keyring signs jammy's InRelease (gpgv says Good)."""
    assert compat.OS_FOREIGN_KEYS["ubuntu22.04"] == JAMMY["keyring"]
    ring = Keyring(**JAMMY["keyring"])  # type: ignore[arg-type]
    img = images.BaseImage("airlock-base/test:jammy", Base(bootstrap=Bootstrap(suite="jammy", mirror=JAMMY["mirror"], keyring=ring)), "base.builder")  # type: ignore[arg-type]
    keyring = images.fetch_keyring(img, tmp_path)
    inrelease = tmp_path / "InRelease"
    with urllib.request.urlopen(f"{JAMMY['mirror']}/dists/jammy/InRelease", timeout=120) as resp:
        inrelease.write_bytes(resp.read())
    proc = subprocess.run(["gpgv", "--keyring", str(keyring), str(inrelease)], capture_output=True, text=True)
    assert proc.returncode == 0 and "Good signature" in proc.stderr, proc.stderr
