"""The artifact store ``artifacts/<preset>/``: its layout (one owner), its index, its writer lock.

- :mod:`airlock.store.layout`   every folder and file name, the ``.part`` rule, path confinement
- :mod:`airlock.store.manifest` ``manifest.json`` and ``SHA256SUMS``: render, parse (every line checked)
- :mod:`airlock.store.writer`   one writer at a time: sync holds the store exclusively, verify and build share it
"""
