"""``inv report``: where an image's bytes are, against its base and its payload.

- image size and the runtime base image's size;
- per-layer sizes (``docker history``), largest first, with the step that made them;
- the largest paths inside the image;
- the installed payload: the venv, FFmpeg/OpenCV/TensorRT prefixes and the app (measured
  with ``du`` inside the image) plus the runtime .debs (their ``Installed-Size``);
- overhead = image - base - payload, as a share of the image (the benchmark's target
  is <= 3 %);
- every CUDA library file (CUDA runtime and math libraries, cuDNN, NCCL, NPP, TensorRT)
  with where it came from (the wheel whose RECORD lists it, the .deb that owns it, a
  compiled part under /opt) and any soname present twice ("CUDA once": a runtime must
  not carry a CUDA library from both torch's wheels and a CUDA base).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from airlock import docker, images, render
from airlock.debs import parse_packages
from airlock.errors import IntegrityError
from airlock.presets import Preset
from airlock.project import Project
from airlock.runner import run
from airlock.store import layout

PAYLOAD_DIRS = ("/opt/venv", "/opt/ffmpeg", "/opt/opencv", "/opt/tensorrt", "/opt/app")

#: Library name stems of CUDA, its math libraries, cuDNN, NCCL, NPP and TensorRT.
CUDA_LIBS = (
    "libcudart", "libcublas", "libcublasLt", "libcufft", "libcufftw", "libcurand", "libcusolver", "libcusolverMg",
    "libcusparse", "libcudnn", "libcudnn_*", "libnccl", "libnvrtc", "libnvrtc-builtins", "libnvJitLink", "libcupti",
    "libnvToolsExt", "libnpp*", "libnvjpeg", "libnvinfer", "libnvinfer_plugin", "libnvonnxparser",
)

# Run inside the image: every CUDA library file (not symlinks), its size, and who put it there:
# the wheel whose RECORD lists it, the .deb dpkg says owns it, a compiled part, or nothing.
_CUDA_INVENTORY = r"""
names=""
for n in "$@"; do names="$names -o -name $n.so*"; done
find / -xdev \( -path /proc -o -path /sys \) -prune -o -type f \( ${names# -o } \) -print 2>/dev/null | sort | while read -r f; do
  size=$(stat -c %s "$f")
  origin=""
  case "$f" in
    */site-packages/*)
      sp=${f%%/site-packages/*}/site-packages; rel=${f#"$sp"/}
      rec=$(grep -l -F "$rel," "$sp"/*.dist-info/RECORD 2>/dev/null | head -n 1)
      [ -n "$rec" ] && origin="wheel $(basename "$(dirname "$rec")" .dist-info)" ;;
    /opt/*) origin="compiled part ${f#/opt/}"; origin=${origin%%/*} ;;
  esac
  if [ -z "$origin" ] && command -v dpkg >/dev/null 2>&1; then
    pkg=$(dpkg -S "$f" 2>/dev/null | head -n 1 | cut -d: -f1)
    [ -n "$pkg" ] && origin="deb $pkg"
  fi
  printf '%s\t%s\t%s\n' "$f" "$size" "${origin:-no package}"
done
"""


@dataclass(frozen=True)
class CudaLib:
    path: str
    size: int
    origin: str  # "wheel nvidia_cublas_cu12-12.1.3.1", "deb libcublas12", "compiled part opencv", "no package"

    @property
    def soname(self) -> str:
        """``libcublas.so.12`` for ``.../libcublas.so.12.1.3.1``: the name the loader looks for."""
        name = self.path.rsplit("/", 1)[-1]
        stem, _, version = name.partition(".so")
        major = version.lstrip(".").split(".")[0]
        return f"{stem}.so.{major}" if major else f"{stem}.so"


def parse_cuda_inventory(text: str) -> list[CudaLib]:
    out = []
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[1].isdigit():
            out.append(CudaLib(parts[0], int(parts[1]), parts[2]))
    return out


def cuda_twice(libs: list[CudaLib]) -> dict[str, list[CudaLib]]:
    """Sonames present as more than one file: a runtime that carries CUDA twice (pure)."""
    by: dict[str, list[CudaLib]] = {}
    for lib in libs:
        by.setdefault(lib.soname, []).append(lib)
    return {k: v for k, v in sorted(by.items()) if len(v) > 1}


def cuda_inventory(image: str) -> list[CudaLib]:
    """Every CUDA library file in ``image`` and where it came from (runs a shell in the image, offline)."""
    return parse_cuda_inventory(_du(image, _CUDA_INVENTORY + "\n", *CUDA_LIBS))


@dataclass
class Report:
    image: str
    size: int
    base_ref: str
    base_size: int
    payload: dict[str, int]
    layers: list[tuple[int, str]]
    largest: list[tuple[int, str]]
    cuda: list[CudaLib] = field(default_factory=list)

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
        twice = cuda_twice(self.cuda)
        out.append(f"CUDA libraries: {len(self.cuda)} files, {render.mb(sum(c.size for c in self.cuda))}"
                   + (f"; TWICE: {', '.join(twice)}" if twice else ("; each once" if self.cuda else "")))
        out += [f"  {mb(c.size)}  {c.path}  ({c.origin}){'  TWICE' if c.soname in twice else ''}" for c in self.cuda]
        return "\n".join(out)

    def as_dict(self) -> dict:  # type: ignore[type-arg]
        return {
            "image": self.image, "size": self.size, "base": self.base_ref, "base_size": self.base_size,
            "payload": self.payload, "payload_total": self.payload_total, "overhead": self.overhead,
            "overhead_pct": round(self.overhead_pct, 2),
            "layers": [{"size": s, "created_by": c} for s, c in self.layers],
            "largest": [{"size": s, "path": p} for s, p in self.largest],
            "cuda": [{"path": c.path, "size": c.size, "origin": c.origin, "soname": c.soname} for c in self.cuda],
            "cuda_twice": sorted(cuda_twice(self.cuda)),
        }


def _du(image: str, script: str, *args: str) -> str:
    proc = run([docker.client(), "run", "--rm", "--network=none", "--user", "0", "--entrypoint", "/bin/sh", image, "-c", script, "sh", *args])
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
    pk = project.artifacts(preset.name) / layout.deb_packages("runtime")
    if pk.exists():
        payload["runtime .debs (Installed-Size)"] = sum(int(p.get("Installed-Size", "0")) * 1024 for p in parse_packages(pk.read_text()))
    big = _du(image, "du -x -B1 -d 3 / 2>/dev/null | sort -rn | head -40")
    largest = []
    for line in big.splitlines():
        size, path = line.split(None, 1)
        if path.count("/") >= 2 or path in ("/usr", "/opt", "/var", "/etc"):
            largest.append((int(size), path))
    return Report(image, int(info["Size"]), base.ref, base_size, payload, layers, largest, cuda_inventory(image))
