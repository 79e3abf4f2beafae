"""Reading apt's simulated install: every package the offline build needs, upgrades included."""

from __future__ import annotations

from airlock.debs import _parse_wanted, deb_filename

# Lines as apt-get install -s printed them in the debootstrapped jammy base (upgrades carry
# [OLD] and sometimes a trailing [BREAKS ]) and in the bookworm base.
SIM = """\
NOTE: This is only a simulation!
Inst perl-base [5.34.0-3ubuntu1] (5.34.0-3ubuntu1.10 Ubuntu:22.04/jammy-updates [amd64])
Inst perl-modules-5.34 (5.34.0-3ubuntu1.10 Ubuntu:22.04/jammy-updates [all])
Inst gcc-12-base [12-20220319-1ubuntu1] (12.3.0-1ubuntu1~22.04.3 Ubuntu:22.04/jammy-updates [amd64]) [libstdc++6:amd64 libgcc-s1:amd64 ]
Inst zlib1g-dev (1:1.2.11.dfsg-2ubuntu9.2 Ubuntu:22.04/jammy-updates [amd64])
Inst libpython3.11-minimal (3.11.2-6+deb12u6 Debian:12.12/stable [amd64])
Conf perl-base (5.34.0-3ubuntu1.10 Ubuntu:22.04/jammy-updates [amd64])
"""


def test_new_installs_and_upgrades_are_both_wanted() -> None:
    assert _parse_wanted(SIM) == [
        ("perl-base", "5.34.0-3ubuntu1.10", "amd64"),
        ("perl-modules-5.34", "5.34.0-3ubuntu1.10", "all"),
        ("gcc-12-base", "12.3.0-1ubuntu1~22.04.3", "amd64"),
        ("zlib1g-dev", "1:1.2.11.dfsg-2ubuntu9.2", "amd64"),
        ("libpython3.11-minimal", "3.11.2-6+deb12u6", "amd64"),
    ]


def test_deb_file_name_is_apts() -> None:
    assert deb_filename("zlib1g-dev", "1:1.2.11.dfsg-2ubuntu9.2", "amd64") == "zlib1g-dev_1%3a1.2.11.dfsg-2ubuntu9.2_amd64.deb"
