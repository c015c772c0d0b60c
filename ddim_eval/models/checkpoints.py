"""The paper's checkpoints: fetched into the cache and verified, loaded safely, converted to `UNet2DModel`.

Nothing is unpickled beyond tensors and plain containers (`torch.load(..., weights_only=True)`), and shipped or
diffusers-layout weights are safetensors.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from diffusers import UNet2DModel
from torch import Tensor

from ddim_eval.fetch import (
    CheckpointError,
    ChecksumError,
    cache_dir,
    fetch_file,
    file_digest,
    load_safetensors,
    verify_file,
)
from ddim_eval.io import atomic_path
from ddim_eval.models.convert import load_official_weights, strip_data_parallel
from ddim_eval.models.registry import PACKAGED, ModelSpec, get_model_spec
from ddim_eval.models.unet import build_unet


def fetch_checkpoint(spec: ModelSpec, cache: str | os.PathLike | None = None, *, allow_download: bool = True,
                     progress: bool = True) -> Path:
    """The verified local path of `spec`'s checkpoint, downloading it into the cache when missing.

    Without a published checksum, the sha256 of the first copy is pinned in `<file>.sha256` and every later
    use is checked against it.
    """
    if spec.checkpoint_url == PACKAGED:
        path = Path(__file__).parent / spec.checkpoint_file  # beside models.toml
        if not path.is_file():
            raise CheckpointError(f"the packaged checkpoint of {spec.name!r} is missing: {path}")
        verify_file(path, spec.md5, spec.sha256)
        return path
    dest = cache_dir(cache) / spec.checkpoint_file
    pin = dest.with_name(dest.name + ".sha256")
    pinned = spec.sha256 is None and pin.exists()
    sha256 = spec.sha256 or (pin.read_text().strip() if pinned else None)
    try:
        fetch_file(spec.checkpoint_url, dest, md5=spec.md5, sha256=sha256, manual=spec.manual,
                   allow_download=allow_download, progress=progress, what=f"checkpoint {spec.name!r}")
    except ChecksumError as e:
        if not pinned:
            raise
        raise ChecksumError(f"{e} (that sha256 was pinned in {pin} from an earlier copy: if that copy was the bad "
                            f"one, delete {pin} too)") from None
    if spec.md5 is None and sha256 is None:
        # Pinned only once the file loads: a corrupt first copy must not become the reference for every later one.
        try:
            _weights(spec, dest)
        except CheckpointError as e:
            raise CheckpointError(f"{e}; nothing was pinned: delete {dest} and fetch it again") from None
        digest = file_digest(dest, "sha256")
        with atomic_path(pin) as tmp:
            tmp.write_text(digest + "\n")
        print(f"ddim-eval: {spec.name} has no published checksum; pinned sha256 {digest} in {pin}",
              file=sys.stderr)
    return dest


def load_official_state_dict(path: Path, layout: str = "state_dict") -> dict[str, Tensor]:
    """The official-layout network weights in `path`, read with weights_only=True (no arbitrary unpickling)."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for corrupt zips and for refused pickles
        raise CheckpointError(f"cannot load {path} as a weights-only checkpoint ({type(e).__name__}: "
                              f"{str(e).splitlines()[0]}); it is corrupt, truncated or holds more than tensors "
                              f"(ddim-eval never unpickles arbitrary objects)") from None
    if layout == "ema_list":
        if not isinstance(obj, (list, tuple)) or not obj or not isinstance(obj[-1], dict):
            raise CheckpointError(f"{path}: layout 'ema_list' expects a list whose last entry is the EMA state "
                                  f"dict, got {type(obj).__name__}")
        obj = obj[-1]
    if not isinstance(obj, dict) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise CheckpointError(f"{path}: expected a state dict of tensors (layout {layout!r}), "
                              f"got {type(obj).__name__}")
    return strip_data_parallel(obj)


def _weights(spec: ModelSpec, path: Path) -> dict[str, Tensor]:
    """The checkpoint's tensors in its layout (CheckpointError if they cannot be read)."""
    return load_safetensors(path) if spec.layout == "diffusers" else load_official_state_dict(path, spec.layout)


def load_unet(model: str | ModelSpec, cache: str | os.PathLike | None = None, *,
              device: torch.device | str = "cpu", allow_download: bool = True) -> UNet2DModel:
    """The paper's network for a registered model name (or spec), weights fetched, verified and converted."""
    spec = get_model_spec(model) if isinstance(model, str) else model
    path = fetch_checkpoint(spec, cache, allow_download=allow_download)
    if spec.layout == "diffusers":
        with torch.device("meta"):
            unet = UNet2DModel(**spec.unet_config())
        unet.load_state_dict(_weights(spec, path), strict=True, assign=True)
    else:
        unet = load_official_weights(build_unet(spec.unet, device="meta"), _weights(spec, path), spec.unet,
                                     assign=True)
    return unet.to(device).eval().requires_grad_(False)
