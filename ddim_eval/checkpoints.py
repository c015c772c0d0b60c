"""Fetching and loading checkpoints: a cache directory, resumable verified downloads, safe deserialisation.

Files land in the cache atomically (a `.part` file, verified, then renamed); an interrupted download resumes
from the `.part` file where the server allows it and restarts otherwise. Nothing is unpickled beyond tensors
and plain containers (`torch.load(..., weights_only=True)`).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

import torch
from diffusers import UNet2DModel
from torch import Tensor
from tqdm.auto import tqdm

from ddim_eval.io import atomic_path
from ddim_eval.registry import PACKAGED, ModelSpec, get_model_spec
from ddim_eval.unet import build_unet, load_official_weights, strip_data_parallel

CACHE_ENV = "DDIM_EVAL_CACHE"
OFFLINE_ENV = "DDIM_EVAL_OFFLINE"
_CHUNK = 1 << 20


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be fetched, verified or loaded."""


class ChecksumError(CheckpointError):
    pass


class DownloadError(CheckpointError):
    pass


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The checkpoint cache: `path`, else $DDIM_EVAL_CACHE, else $XDG_CACHE_HOME/ddim-eval (~/.cache/ddim-eval)."""
    if path is not None:
        return Path(path)
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ddim-eval"


def file_digest(path: Path, algorithm: str) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def verify_file(path: Path, md5: str | None = None, sha256: str | None = None) -> None:
    """Raise ChecksumError unless `path` has the given digests (those that are not None)."""
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if expected is not None:
            actual = file_digest(path, algorithm)
            if actual != expected:
                raise ChecksumError(f"{path}: {algorithm} is {actual}, expected {expected} "
                                    f"(corrupt or truncated file, or a different file); delete it and fetch again")


def _manual_hint(dest: Path, md5: str | None, sha256: str | None, manual: str) -> str:
    digest = f"md5 {md5}" if md5 else f"sha256 {sha256}" if sha256 else "no published checksum"
    how = f"{manual}, then " if manual else "download it on a machine with internet access and "
    return f"To provide it by hand: {how}place it at {dest} ({digest})."


def download(url: str, dest: Path, *, md5: str | None = None, sha256: str | None = None, manual: str = "",
             progress: bool = True) -> Path:
    """Download `url` to `dest`, resuming a previous `.part` file, verifying the digests before the rename."""
    dest = Path(dest)
    if os.environ.get(OFFLINE_ENV):
        raise DownloadError(f"{dest} is missing and ${OFFLINE_ENV} is set, so {url} is not fetched. "
                            + _manual_hint(dest, md5, sha256, manual))
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "ddim-eval"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response:
            if start and getattr(response, "status", None) != 206:
                start = 0  # the server sent the whole file: restart rather than append
            if response.headers.get("Content-Type", "").startswith("text/html"):
                raise DownloadError(f"{url} answered with an HTML page instead of the file (a quota, login or "
                                    f"virus-scan page). " + _manual_hint(dest, md5, sha256, manual))
            length = response.headers.get("Content-Length")
            total = start + int(length) if length else None
            with part.open("ab" if start else "wb") as f, tqdm(
                    total=total, initial=start, unit="B", unit_scale=True, desc=dest.name,
                    disable=not progress, file=sys.stderr) as bar:
                while chunk := response.read(_CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
            if total is not None and part.stat().st_size < total:
                # http.client returns a short body at a hang-up instead of raising
                raise http.client.IncompleteRead(b"", total - part.stat().st_size)
    except urllib.error.HTTPError as e:
        if not (e.code == 416 and start):  # 416: the .part file already holds every byte
            raise DownloadError(f"downloading {url} failed: HTTP {e.code} {e.reason}. "
                                + _manual_hint(dest, md5, sha256, manual)) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        kept = f" {part.stat().st_size} bytes are kept in {part}; run again to resume." if part.exists() else ""
        raise DownloadError(f"downloading {url} failed ({type(e).__name__}: {e}); offline?{kept} "
                            + _manual_hint(dest, md5, sha256, manual)) from None
    try:
        verify_file(part, md5, sha256)
    except ChecksumError:
        part.unlink()
        raise
    os.replace(part, dest)
    return dest


def fetch_file(url: str, dest: Path, *, md5: str | None = None, sha256: str | None = None, manual: str = "",
               allow_download: bool = True, progress: bool = True, what: str = "file") -> Path:
    """`dest`, verified when it exists, else downloaded from `url` (and verified); the given digests only."""
    dest = Path(dest)
    if dest.exists():
        verify_file(dest, md5, sha256)
    elif not allow_download:
        raise CheckpointError(f"{what} is not at {dest} and downloading is off. "
                              + _manual_hint(dest, md5, sha256, manual))
    else:
        download(url, dest, md5=md5, sha256=sha256, manual=manual, progress=progress)
    return dest


def fetch_checkpoint(spec: ModelSpec, cache: str | os.PathLike | None = None, *, allow_download: bool = True,
                     progress: bool = True) -> Path:
    """The verified local path of `spec`'s checkpoint, downloading it into the cache when missing.

    Without a published checksum, the sha256 of the first copy is pinned in `<file>.sha256` and every later
    use is checked against it.
    """
    if spec.checkpoint_url == PACKAGED:
        path = Path(__file__).parent / spec.checkpoint_file
        if not path.is_file():
            raise CheckpointError(f"the packaged checkpoint of {spec.name!r} is missing: {path}")
        verify_file(path, spec.md5, spec.sha256)
        return path
    dest = cache_dir(cache) / spec.checkpoint_file
    pin = dest.with_name(dest.name + ".sha256")
    sha256 = spec.sha256 or (pin.read_text().strip() if pin.exists() else None)
    fetch_file(spec.checkpoint_url, dest, md5=spec.md5, sha256=sha256, manual=spec.manual,
               allow_download=allow_download, progress=progress, what=f"checkpoint {spec.name!r}")
    if spec.md5 is None and sha256 is None:
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


def load_safetensors(path: Path) -> dict[str, Tensor]:
    """A state dict stored as safetensors (a format that cannot carry code)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path)
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"cannot read {path} as safetensors: {e}") from None


def load_unet(model: str | ModelSpec, cache: str | os.PathLike | None = None, *,
              device: torch.device | str = "cpu", allow_download: bool = True) -> UNet2DModel:
    """The paper's network for a registered model name (or spec), weights fetched, verified and converted."""
    spec = get_model_spec(model) if isinstance(model, str) else model
    path = fetch_checkpoint(spec, cache, allow_download=allow_download)
    if spec.layout == "diffusers":
        with torch.device("meta"):
            unet = UNet2DModel(**spec.unet_config())
        unet.load_state_dict(load_safetensors(path), strict=True, assign=True)
    else:
        state_dict = load_official_state_dict(path, spec.layout)
        unet = load_official_weights(build_unet(spec.unet, device="meta"), state_dict, spec.unet, assign=True)
    return unet.to(device).eval().requires_grad_(False)


def fetch_inception_weights(cache: str | os.PathLike | None = None, *, allow_download: bool = True) -> Path:
    """torch-fidelity's Inception weights in the cache, checked against the sha256 prefix in their file name
    (as torch.hub checks them). Pass the path as `feature_extractor_weights_path` on offline compute nodes."""
    from ddim_eval.features import INCEPTION_SHA256_PREFIX, INCEPTION_WEIGHTS_URL

    dest = cache_dir(cache) / "torch-fidelity" / INCEPTION_WEIGHTS_URL.rsplit("/", 1)[1]
    fetch_file(INCEPTION_WEIGHTS_URL, dest, manual=f"download {INCEPTION_WEIGHTS_URL}",
               allow_download=allow_download, what="the Inception weights file")
    digest = file_digest(dest, "sha256")
    if not digest.startswith(INCEPTION_SHA256_PREFIX):
        dest.unlink()
        raise ChecksumError(f"{dest}: sha256 {digest} does not start with {INCEPTION_SHA256_PREFIX}; removed it")
    return dest
