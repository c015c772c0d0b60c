"""The sampling batch size, chosen by measurement: the largest batch that still raises the network's throughput
and fits the device's memory, measured once per (device, network, fast path) and cached.

Why measured: throughput saturates at a batch that depends on the GPU, the network and the precision, and past it
a larger batch only costs memory. Why cached: measuring costs a few forward passes per candidate, and every shard
of a run would otherwise repeat it. The batch also seeds the stochastic variants' per-batch noise, so a run keeps
the cached value and a shard's resume record refuses progress made with another.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import torch

from ddim_eval.fetch import cache_dir
from ddim_eval.io import save_json
from ddim_eval.sampling.common import EpsModel
from ddim_eval.wallclock import best_wall_time, device_name

CACHE_FILE = "batch_sizes.json"
# Stop doubling once a doubled batch raises throughput by less than this factor.
MIN_GAIN = 1.05


def _throughput(eps_model: EpsModel, shape: tuple[int, ...], batch: int, device: torch.device,
                repeats: int = 2) -> tuple[float, int | None]:
    """(images per second of one forward pass at `batch`, best of `repeats` after a warm-up; peak device memory
    in bytes, None off CUDA)."""
    x = torch.randn((batch, *shape), device=device)
    t = torch.full((batch,), 500, dtype=torch.long, device=device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with torch.no_grad():
        best = best_wall_time(lambda: eps_model(x, t), device, warmup=1, repeats=repeats)
    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return batch / best, peak


def measure_batch_size(eps_model: EpsModel, shape: tuple[int, ...], device: torch.device | str, *,
                       max_batch: int = 1024, min_gain: float = MIN_GAIN) -> dict:
    """Double the batch from 1 up to `max_batch` while throughput rises by at least `min_gain` and memory lasts;
    the chosen batch is the last that raised it. Returns {"batch_size", "measured": [{batch, images_per_second,
    peak_memory_bytes}, ...]}."""
    if max_batch < 1 or min_gain < 1:
        raise ValueError(f"need max_batch >= 1 and min_gain >= 1; got {max_batch}, {min_gain}")
    device = torch.device(device)
    measured, chosen, best = [], 1, 0.0
    batch = 1
    while batch <= max_batch:
        try:
            rate, peak = _throughput(eps_model, shape, batch, device)
        except torch.cuda.OutOfMemoryError:
            torch.cuda.empty_cache()
            break
        measured.append({"batch": batch, "images_per_second": rate, "peak_memory_bytes": peak})
        if rate < best * min_gain:
            break
        chosen, best = batch, rate
        batch *= 2
    return {"batch_size": chosen, "measured": measured}


def cached_batch_size(key: str, measure: Callable[[], dict], cache: str | os.PathLike | None = None) -> dict:
    """The cached measurement for `key` (cache: `batch_sizes.json` in the download cache), else `measure()`'s,
    stored under `key` (an atomic rewrite; a job racing another at worst measures again)."""
    path = Path(cache_dir(cache)) / CACHE_FILE
    entries = json.loads(path.read_text()) if path.is_file() else {}
    if key not in entries:
        entries[key] = measure()
        save_json(path, entries)
    return entries[key]


def batch_size_key(device: torch.device | str, network: str, fast_path: str) -> str:
    """What a measured batch size depends on: the device model, the network and the fast path (and torch)."""
    return f"{device_name(device)} | {network} | {fast_path} | torch {torch.__version__}"
