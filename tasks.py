"""airlock's Invoke tasks. This file only composes; the logic lives in airlock/."""

from invoke import Collection

from airlock.cli import bench as _bench
from airlock.cli import build as _build
from airlock.cli import docs as _docs
from airlock.cli import lock as _lock
from airlock.cli import presets as _presets
from airlock.cli import sync as _sync
from airlock.cli import verify as _verify

ns = Collection()
for _module in (_presets, _lock, _sync, _verify, _build, _docs, _bench,):
    for _task in _module.TASKS:
        ns.add_task(_task)
