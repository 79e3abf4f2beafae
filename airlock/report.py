"""``inv report``: where an image's bytes are, against its base and its payload.

- image size and the runtime base image's size;
- per-layer sizes (``docker history``), largest first, with the step that made them;
- the largest paths inside the image;
- the installed payload: the venv, FFmpeg/OpenCV/TensorRT prefixes and the app (measured
  with ``du`` inside the image) plus the runtime .debs (their ``Installed-Size``);
- overhead = image - base - payload, as a share of the image (seeds 000-002 ask for
  this kind of analysis; the benchmark's target is <= 3 %).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from airlock import docker, images, render
from airlock.debs import parse_packages
from airlock.errors import IntegrityError
from airlock.presets import Preset
from airlock.project import Project
from airlock.runner import run

PAYLOAD_DIRS = ("/opt/venv", "/opt/ffmpeg", "/opt/opencv", "/opt/tensorrt", "/opt/app")


@dataclass
class Report:
    image: str
    size: int
    base_ref: str
    base_size: int
    payload: dict[str, int]
    layers: list[tuple[int, str]]
    largest: list[tuple[int, str]]

    @property
    def payload_total(self) -> int:
        return sum(self.payload.values())

    @property
    def overhead(self) -> int:
        return self.size - self.base_size - self.payload_total

    @property
    def overhead_pct(self) -> float:
        return 100.0 * self.overhead / max(1, self.size)

    def render(self, top: int = 12) -> str:
        def mb(n: int) -> str:
            return f"{render.mb(n):>12}"

        out = [
            f"image       {self.image}: {mb(self.size)}",
            f"base        {self.base_ref}: {mb(self.base_size)}",
            f"payload     {mb(self.payload_total)}",
        ]
        out += [f"  {k:<22}{mb(v)}" for k, v in sorted(self.payload.items(), key=lambda kv: -kv[1])]
        out.append(f"overhead    {mb(self.overhead)} ({self.overhead_pct:.1f} % of the image)")
        out.append("layers (largest first):")
        out += [f"  {mb(s)}  {cmd[:100]}" for s, cmd in sorted(self.layers, key=lambda x: -x[0])[:top] if s > 0]
        out.append("largest paths:")
        out += [f"  {mb(s)}  {p}" for s, p in self.largest[:top]]
        return "\n".join(out)

    def as_dict(self) -> dict:  # type: ignore[type-arg]
        return {
            "image": self.image, "size": self.size, "base": self.base_ref, "base_size": self.base_size,
            "payload": self.payload, "payload_total": self.payload_total, "overhead": self.overhead,
            "overhead_pct": round(self.overhead_pct, 2),
            "layers": [{"size": s, "created_by": c} for s, c in self.layers],
            "largest": [{"size": s, "path": p} for s, p in self.largest],
        }


def _du(image: str, script: str) -> str:
    proc = run([docker.client(), "run", "--rm", "--network=none", "--user", "0", "--entrypoint", "/bin/sh", image, "-c", script])
    return proc.stdout


def report(project: Project, preset: Preset, image: str) -> Report:
    if not docker.image_exists(image):
        raise IntegrityError(f"image {image} does not exist; run: inv build --preset {preset.name}")
    info = docker.inspect_image(image)
    base = images.base_image(preset, "runtime")
    base_size = int(docker.inspect_image(base.ref)["Size"]) if docker.image_exists(base.ref) else 0
    hist = run([docker.client(), "history", "--no-trunc", "--human=false", "--format", "{{json .}}", image]).stdout
    layers = []
    for line in hist.splitlines():
        row = json.loads(line)
        layers.append((int(row.get("Size") or 0), " ".join(str(row.get("CreatedBy", "")).split())))
    dirs = " ".join(PAYLOAD_DIRS)
    du = _du(image, f"for d in {dirs}; do [ -d $d ] && du -s --apparent-size -B1 $d; done; true")
    payload = {}
    for line in du.splitlines():
        size, path = line.split(None, 1)
        payload[path] = int(size)
    pk = project.artifacts(preset.name) / "debs" / "runtime" / "Packages"
    if pk.exists():
        payload["runtime .debs (Installed-Size)"] = sum(int(p.get("Installed-Size", "0")) * 1024 for p in parse_packages(pk.read_text()))
    big = _du(image, "du -x -B1 -d 3 / 2>/dev/null | sort -rn | head -40")
    largest = []
    for line in big.splitlines():
        size, path = line.split(None, 1)
        if path.count("/") >= 2 or path in ("/usr", "/opt", "/var", "/etc"):
            largest.append((int(size), path))
    return Report(image, int(info["Size"]), base.ref, base_size, payload, layers, largest)
