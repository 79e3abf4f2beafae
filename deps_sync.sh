#!/usr/bin/env bash
# deps_sync.sh <preset> [inv sync flags...] -- `inv sync` under the name teams used before airlock, for
# people who do not use Invoke. Sets up .venv/ first if it is missing.
set -euo pipefail
cd "$(dirname "$0")"
if [ $# -lt 1 ] || [ "${1#-}" != "$1" ]; then
    echo "usage: ./deps_sync.sh <preset> [--only ...] [--jobs N] [--dry-run]" >&2
    exit 2
fi
preset=$1; shift
[ -x .venv/bin/inv ] || ./bootstrap.sh setup
exec .venv/bin/inv sync --preset "$preset" "$@"
