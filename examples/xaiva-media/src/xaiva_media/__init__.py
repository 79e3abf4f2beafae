"""xaiva-media: example inference service built by airlock from its source tree."""

GREETING = "xaiva-media ready"
