"""airlock: lock, sync, verify and build GPU inference images for air-gapped sites."""

__version__ = "0.1.0"
