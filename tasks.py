"""airlock's Invoke tasks. This file only composes; the logic lives in airlock/."""

from invoke import Collection

from airlock.cli import presets as _presets

ns = Collection()
for _module in (_presets,):
    for _task in _module.TASKS:
        ns.add_task(_task)
