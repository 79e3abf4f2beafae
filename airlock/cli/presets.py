"""``inv presets``: list the presets, or show one as resolved."""

from __future__ import annotations

from invoke import task

from airlock.cli._boundary import boundary, project
from airlock.presets import dump_preset, load_all, load_preset
from airlock.render import table


@task(help={"show": "print one preset as resolved (after environment overrides) as JSON"})
@boundary
def presets(c, show=""):  # type: ignore[no-untyped-def]
    """List every preset (name, OS, CUDA, Python, torch, TensorRT), or show one."""
    proj = project()
    if show:
        print(dump_preset(load_preset(proj, show)), end="")
        return
    rows = [("NAME", "OS", "CUDA", "PYTHON", "TORCH", "TENSORRT", "PLATFORM")]
    for p in load_all(proj):
        rows.append(
            (
                p.name,
                p.os,
                f"{p.cuda.version} (cuDNN {p.cuda.cudnn})" if p.cuda else "-",
                p.python.version,
                f"{p.torch.torch} ({p.torch.cuda_tag})" if p.torch else "-",
                f"{p.tensorrt.version} ({p.tensorrt.source})" if p.tensorrt else "-",
                p.platform,
            )
        )
    print(table(rows))


TASKS = [presets]
