"""Where flags, environment variables and preset values meet: decided here only.

Precedence, highest first: command-line flag > environment variable > preset file
> built-in default. Only these fields can be overridden from the environment
(``.env`` is read too, by :mod:`airlock.secrets`, but only for secrets):

=============================  ======================================  ================
variable                       preset field                            flag
=============================  ======================================  ================
``AIRLOCK_BASE_IMAGE``         ``base.builder.image`` and              ``--base``
                               ``base.runtime.image``
``AIRLOCK_BUILDER_IMAGE``      ``base.builder.image``                  
``AIRLOCK_RUNTIME_IMAGE``      ``base.runtime.image``                  
``AIRLOCK_APP_SRC``            ``app.src``                             ``--app-src``
``AIRLOCK_PLATFORM``           ``platform``                            
=============================  ======================================  ================

Overrides are validated like the file itself (a bad value names the variable).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airlock.errors import PresetError

ENV_FIELDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "AIRLOCK_BASE_IMAGE": (("base", "builder"), ("base", "runtime")),
    "AIRLOCK_BUILDER_IMAGE": (("base", "builder"),),
    "AIRLOCK_RUNTIME_IMAGE": (("base", "runtime"),),
    "AIRLOCK_APP_SRC": (("app", "src"),),
    "AIRLOCK_PLATFORM": (("platform",),),
}


def collect(flags: Mapping[str, str | None], env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Merge flag values over environment values into one {VARIABLE: value} map.

    ``flags`` uses the variable names as keys (``{"AIRLOCK_BASE_IMAGE": "--base value"}``);
    an empty or ``None`` flag does not override.
    """
    env = os.environ if env is None else env
    out = {k: v for k, v in env.items() if k in ENV_FIELDS and v}
    out.update({k: v for k, v in flags.items() if v})
    return out


def override_data(data: dict[str, Any], path: Path, overrides: Mapping[str, str]) -> dict[str, Any]:
    """A preset's JSON data with ``overrides`` applied (validation is the caller's:
    :func:`airlock.presets.apply_overrides` parses the result like the file itself)."""
    data = json.loads(json.dumps(data))  # a deep copy of plain JSON data
    # Specific variables win over the general AIRLOCK_BASE_IMAGE: apply it first.
    for var in sorted(overrides, key=lambda v: v != "AIRLOCK_BASE_IMAGE"):
        value = overrides[var]
        for target in ENV_FIELDS[var]:
            if target[0] == "base":
                data["base"][target[1]] = {"image": value}
            elif target[0] == "app":
                if data.get("app") is None:
                    raise PresetError(path, "app", f"{var} is set but the preset has no app section")
                data["app"]["src"] = value
            else:
                data[target[0]] = value
    return data
