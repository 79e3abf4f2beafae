"""Entry point: ``xaiva-media --smoke`` checks the runtime and prints one JSON line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

from xaiva_media import GREETING


def smoke() -> dict:
    report: dict = {"greeting": GREETING, "python": sys.version.split()[0]}
    import numpy as np

    frame = (np.arange(64 * 64 * 3) % 251).astype("uint8").reshape(64, 64, 3)
    report["numpy"] = np.__version__
    try:
        import cv2
    except ImportError:
        report["opencv"] = None
    else:
        ok, buf = cv2.imencode(".png", frame)
        decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR)
        report["opencv"] = cv2.__version__
        report["png_roundtrip"] = bool(ok and (decoded == frame).all())
    probe = shutil.which("xaiva-probe")
    if probe:
        report["ffmpeg_libs"] = json.loads(subprocess.run([probe], check=True, capture_output=True, text=True).stdout)
    return report


def main(argv: list[str]) -> int:
    if "--smoke" in argv:
        print(json.dumps(smoke(), sort_keys=True))
        return 0
    print(GREETING)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
