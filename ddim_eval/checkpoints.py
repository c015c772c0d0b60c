"""Moved to ddim_eval.models.checkpoints and ddim_eval.fetch: an old import path, kept for existing scripts."""

from ddim_eval.fetch import (
    ChecksumError,
    DownloadError,
    FetchError,
    cache_dir,
    download,
    fetch_file,
    file_digest,
    verify_file,
)
from ddim_eval.metrics.extractors import fetch_inception_weights
from ddim_eval.models.checkpoints import (
    CheckpointError,
    fetch_checkpoint,
    load_official_state_dict,
    load_safetensors,
    load_unet,
)

__all__ = [
    "CheckpointError",
    "ChecksumError",
    "DownloadError",
    "FetchError",
    "cache_dir",
    "download",
    "fetch_checkpoint",
    "fetch_file",
    "fetch_inception_weights",
    "file_digest",
    "load_official_state_dict",
    "load_safetensors",
    "load_unet",
    "verify_file",
]
