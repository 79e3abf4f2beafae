#!/usr/bin/env bash
# airlock's one entry point on a fresh Debian machine.
#
#   ./bootstrap.sh demo   set up, then lock-check, sync, verify, build and run the demo preset
#   ./bootstrap.sh test   set up, then run the unit tests and then the integration tests
#   ./bootstrap.sh setup  set up only: .venv/ with pinned, hashed dependencies; a running engine
#
# Setup is idempotent: it makes .venv/ (from requirements/dev.txt, --require-hashes),
# installs Debian's docker.io and debootstrap when they are missing, starts dockerd when
# no engine answers and waits for it.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
PRESET=${AIRLOCK_DEMO_PRESET:-debian12-cpu-py3.11}

say() { printf '\033[1m== %s\033[0m\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

setup_python() {
    local py=${AIRLOCK_PYTHON:-python3}
    if [ ! -x .venv/bin/python ]; then
        say "creating .venv with $($py --version 2>&1)"
        "$py" -m venv .venv
    fi
    local stamp=.venv/.airlock-dev-sha256
    local want; want=$(sha256sum requirements/dev.txt | cut -d' ' -f1)
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        say "installing pinned dev dependencies (requirements/dev.txt, --require-hashes)"
        .venv/bin/python -m pip install --isolated --disable-pip-version-check -q \
            --require-hashes --no-deps -r requirements/dev.txt
        echo "$want" > "$stamp"
    fi
}

apt_install() {
    if [ -z "${_APT_UPDATED:-}" ]; then as_root apt-get update -qq; _APT_UPDATED=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

setup_engine() {
    local need=()
    command -v debootstrap >/dev/null || need+=(debootstrap)
    if ! engine_answers; then
        command -v dockerd >/dev/null || need+=(docker.io)
    fi
    # Debian's 20.10 client drives the daemon's built-in BuildKit (docs/build-guide.md, "Machines and engines").
    [ -x /usr/bin/docker ] || command -v dockerd >/dev/null || need+=(docker.io)
    if [ ${#need[@]} -gt 0 ]; then
        say "installing Debian packages: ${need[*]}"
        apt_install "${need[@]}"
    fi
    if ! engine_answers; then
        say "starting dockerd (log: /var/log/airlock-dockerd.log)"
        as_root sh -c 'setsid dockerd >/var/log/airlock-dockerd.log 2>&1 < /dev/null &'
        for _ in $(seq 1 60); do engine_answers && break; sleep 1; done
        engine_answers || { echo "dockerd did not answer within 60 s; see /var/log/airlock-dockerd.log" >&2; exit 3; }
    fi
    say "engine: $(docker info --format '{{.ServerVersion}} {{.Driver}}' 2>/dev/null)"
}

setup() { setup_python; setup_engine; }

demo() {
    setup
    local inv=.venv/bin/inv
    say "inv lock --check --preset $PRESET";      "$inv" lock --check --preset "$PRESET"
    say "inv sync --preset $PRESET"
    local err rc=0; err=$(mktemp)
    "$inv" sync --preset "$PRESET" 2>"$err" || rc=$?
    cat "$err" >&2
    if [ "$rc" -ne 0 ]; then
        # The committed system lock pins Debian's archive as it was; after a point release sync
        # names the re-lock. Do it (git diff locks/ shows what moved) and sync again.
        grep -q -- "inv lock --preset $PRESET --only system" "$err" || { rm -f "$err"; exit "$rc"; }
        say "Debian's archive moved since locks/$PRESET.system.json was committed: inv lock --preset $PRESET --only system --upgrade"
        "$inv" lock --preset "$PRESET" --only system --upgrade
        "$inv" sync --preset "$PRESET"
    fi
    rm -f "$err"
    say "inv verify --preset $PRESET";            "$inv" verify --preset "$PRESET"
    say "inv build --preset $PRESET --target runtime"; "$inv" build --preset "$PRESET" --target runtime
    say "inv smoke --preset $PRESET";             "$inv" smoke --preset "$PRESET"
}

tests() {
    setup
    say "unit tests (offline, no engine)"
    .venv/bin/python -m pytest -m "not docker and not network" "$@"
    # A full run took 9.5 GB at its peak beside the build cache; keep 20 GB free (docs/build-guide.md, "Disk").
    local root; root=$(docker info --format '{{.DockerRootDir}}' 2>/dev/null || echo /)
    say "integration tests (real Docker engine, PyPI, Debian's archive); free: $(df -h --output=avail /tmp | tail -1 | tr -d ' ') in /tmp, $(df -h --output=avail "$root" | tail -1 | tr -d ' ') in $root"
    .venv/bin/python -m pytest -m "docker or network" "$@"
}

case "${1:-}" in
    demo) shift; demo "$@" ;;
    test) shift; tests "$@" ;;
    setup) shift; setup ;;
    *) echo "usage: ./bootstrap.sh demo|test|setup" >&2; exit 2 ;;
esac
