"""The model registry: which network, schedule, tau spacing and checkpoint each paper dataset uses.

The entries are data (`models.toml` beside this file); this module reads and validates them.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ddim_eval.models.unet_config import diffusers_config
from ddim_eval.sampling.schedule import BETA_SCHEDULES, make_alphas_cumprod
from ddim_eval.sampling.times import DISCRETE_SPACINGS

DEFAULT_REGISTRY = Path(__file__).with_name("models.toml")
LAYOUTS = ("state_dict", "ema_list", "diffusers")
# A checkpoint_url of PACKAGED means the file ships inside the ddim_eval package, at checkpoint_file.
PACKAGED = "package"
_REQUIRED = ("spacing", "checkpoint_url", "checkpoint_file", "layout", "schedule")
_OPTIONAL = ("unet", "diffusers_unet", "md5", "sha256", "note", "manual", "extractor", "x_T_of")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    spacing: str
    checkpoint_url: str
    checkpoint_file: str
    layout: str
    schedule: dict[str, Any]
    unet: dict[str, Any] | None = None
    diffusers_unet: dict[str, Any] | None = None
    md5: str | None = None
    sha256: str | None = None
    note: str = ""
    manual: str = ""
    extractor: str | None = None  # the feature extractor its samples are scored with when none is named
    # (None: torch-fidelity's Inception, the paper's)
    x_T_of: str | None = None  # the model whose x_T its cells start from (other weights of one network share it)

    @property
    def x_T_name(self) -> str:
        """The name its cells' x_T is drawn for (`ddim_eval.experiment.generate.shard_seed`)."""
        return self.x_T_of or self.name

    @property
    def T(self) -> int:
        return int(self.schedule["T"])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        cfg = self.unet_config()
        return (cfg["in_channels"], cfg["sample_size"], cfg["sample_size"])

    def unet_config(self) -> dict[str, Any]:
        """`UNet2DModel` arguments: from the official config (`unet`) or given directly (`diffusers_unet`)."""
        return diffusers_config(self.unet) if self.unet is not None else dict(self.diffusers_unet)

    def alphas_cumprod(self) -> np.ndarray:
        s = self.schedule
        return make_alphas_cumprod(s["beta_schedule"], self.T, s["beta_start"], s["beta_end"])


def _spec(name: str, entry: dict[str, Any], source: Path, check_networks: bool) -> ModelSpec:
    where = f"model {name!r} in {source}"
    missing = [k for k in _REQUIRED if k not in entry]
    unknown = [k for k in entry if k not in _REQUIRED + _OPTIONAL]
    if missing or unknown:
        raise ValueError(f"{where}: missing keys {missing}, unknown keys {unknown}; "
                         f"required {list(_REQUIRED)}, optional {list(_OPTIONAL)}")
    if entry["spacing"] not in DISCRETE_SPACINGS:
        raise ValueError(f"{where}: spacing {entry['spacing']!r} is not one of {list(DISCRETE_SPACINGS)}")
    if entry["layout"] not in LAYOUTS:
        raise ValueError(f"{where}: layout {entry['layout']!r} is not one of {list(LAYOUTS)}")
    if ("unet" in entry) == ("diffusers_unet" in entry):
        raise ValueError(f"{where}: give exactly one of unet (an official config) and diffusers_unet "
                         f"(UNet2DModel arguments)")
    if "diffusers_unet" in entry and entry["layout"] != "diffusers":
        raise ValueError(f"{where}: a diffusers_unet model needs layout 'diffusers', got {entry['layout']!r}")
    if entry["checkpoint_url"] == PACKAGED and not entry.get("sha256"):
        raise ValueError(f"{where}: a packaged checkpoint needs its sha256")
    schedule = entry["schedule"]
    if set(schedule) != {"beta_schedule", "beta_start", "beta_end", "T"}:
        raise ValueError(f"{where}: schedule needs exactly beta_schedule, beta_start, beta_end, T; "
                         f"got {sorted(schedule)}")
    if schedule["beta_schedule"] not in BETA_SCHEDULES:
        raise ValueError(f"{where}: beta_schedule {schedule['beta_schedule']!r} is not one of {sorted(BETA_SCHEDULES)}")
    for algo, length in (("md5", 32), ("sha256", 64)):
        digest = entry.get(algo)
        if digest is not None and (len(digest) != length or any(c not in "0123456789abcdef" for c in digest)):
            raise ValueError(f"{where}: {algo} {digest!r} is not {length} lowercase hex digits")
    try:
        _check_unet_config(entry, check_networks)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{where}: {e}") from None
    return ModelSpec(name=name, **entry)


def _check_unet_config(entry: dict[str, Any], check_networks: bool) -> None:
    if "unet" in entry:
        diffusers_config(entry["unet"])
        return
    missing = [k for k in ("sample_size", "in_channels") if k not in entry["diffusers_unet"]]
    if missing:
        raise ValueError(f"diffusers_unet needs {missing} (the image shape)")
    if not check_networks:
        return
    import torch
    from diffusers import UNet2DModel

    # Instantiating on the meta device checks every argument without allocating weights.
    with torch.device("meta"):
        UNet2DModel(**entry["diffusers_unet"])


def load_registry(path: str | Path = DEFAULT_REGISTRY, *, check_networks: bool = True) -> dict[str, ModelSpec]:
    """Read and validate a registry TOML file (default: the paper's models).

    check_networks=False skips building each `diffusers_unet` network on the meta device (which imports
    diffusers, seconds): for readers that need names, schedules and checkpoints only, as a DAG build does.
    """
    path = Path(path)
    with path.open("rb") as f:
        entries = tomllib.load(f)
    specs = {name: _spec(name, entry, path, check_networks) for name, entry in entries.items()}
    for spec in specs.values():
        twin = specs.get(spec.x_T_name)
        if twin is None or twin.image_shape != spec.image_shape:
            raise ValueError(f"model {spec.name!r} in {path}: x_T_of {spec.x_T_of!r} is not a registered model of "
                             f"its image shape {spec.image_shape}")
    return specs


def get_model_spec(name: str, registry: dict[str, ModelSpec] | None = None) -> ModelSpec:
    registry = load_registry() if registry is None else registry
    if name not in registry:
        near = difflib.get_close_matches(str(name), list(registry), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise KeyError(f"unknown model {name!r}{hint}; registered: {sorted(registry)}")
    return registry[name]
