"""Sampling one cell of the experiment in deterministic shards.

A cell is (model, sampler run: the sampler, its NFE and its spacing). Shard k of a model's samples starts from x_T
drawn on the CPU from a seed that depends only on the model name and k, so every cell of a model starts from the same
x_T (paired comparisons across S, samplers and their parameters), on any device, with any batch size. The fresh
noise of stochastic steps comes from a per-batch generator on the sampling device (so, unlike x_T, it depends on
device and batch size).

A shard commits its progress batch by batch (`.partial/` in its folder: the settings, then one file per finished
batch, each written atomically). A run killed mid-shard resumes at the first unfinished batch, and since batch b
depends only on (shard, b), the shard's outputs are the same bytes as those of an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ddim_eval.data.images import check_finite, to_uint8, to_unit, unit_to_uint8
from ddim_eval.io import PARTIAL, load_npz, save_json, save_npz
from ddim_eval.metrics.extractors import Extractor
from ddim_eval.metrics.features import chunk_stats, save_feature_set
from ddim_eval.metrics.timing import timed_sample, timing_record
from ddim_eval.sampling.common import EpsModel
from ddim_eval.sampling.run import SamplerRun


def shard_seed(model: str, shard: int) -> int:
    """A 63-bit seed from (model, shard) alone, stable across Python runs and platforms."""
    if shard < 0:
        raise ValueError(f"shard index must be >= 0; got {shard}")
    digest = hashlib.sha256(f"ddim-eval/{model}/shard{shard}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def initial_noise(model: str, shard: int, n: int, shape: tuple[int, ...]) -> Tensor:
    """x_T of shard `shard`: n standard normal images of `shape`, float32, on the CPU."""
    gen = torch.Generator(device="cpu").manual_seed(shard_seed(model, shard))
    return torch.randn((n, *shape), generator=gen)


def shard_batches(eps_model: EpsModel, model: str, shard: int, n: int, shape: tuple[int, ...], run: SamplerRun, *,
                  batch_size: int = 256, device: torch.device | str = "cpu", first_batch: int = 0,
                  progress: bool = True) -> Iterator[tuple[Tensor, float]]:
    """Yield (x_0 float32 on `device`, seconds) batch by batch for shard `shard` (n images), from batch
    `first_batch` on; seconds is the batch's sampling wall time, synchronised with the device. x stays float32 (the
    network's precision is the eps model's business). Raises FloatingPointError on the first batch with NaN/inf."""
    if n < 1 or batch_size < 1:
        raise ValueError(f"n and batch_size must be positive integers; got n={n}, batch_size={batch_size}")
    device = torch.device(device)
    x_T = initial_noise(model, shard, n, shape)
    seed = shard_seed(model, shard)
    starts = range(0, n, batch_size)
    with tqdm(total=n, initial=min(first_batch * batch_size, n), unit="img", disable=not progress,
              desc=f"{model} shard {shard} {run.label} NFE={run.nfe}") as bar:
        for b in range(first_batch, len(starts)):
            start = starts[b]
            gen = torch.Generator(device=device).manual_seed((seed + 1 + b) % 2**63)
            x0, seconds = timed_sample(eps_model, x_T[start:start + batch_size].to(device), run, gen)
            check_finite(x0, f"samples of {model} shard {shard}, images {start}..{start + len(x0) - 1}")
            bar.update(len(x0))
            yield x0, seconds


def sample_shard(eps_model: EpsModel, model: str, shard: int, n: int, shape: tuple[int, ...], run: SamplerRun,
                 **options: Any) -> Iterator[tuple[Tensor, float]]:
    """`shard_batches` (same arguments and keyword options) with each batch as uint8 images on the CPU."""
    for x0, seconds in shard_batches(eps_model, model, shard, n, shape, run, **options):
        yield to_uint8(x0).cpu(), seconds


# A shard's final outputs; those of an earlier run are removed before new work starts in the folder.
SHARD_FILES = ("features.npz", "stats.npz", "timing.json", "samples.npz")


def finished_batches(partial: Path, settings: dict) -> int:
    """How many leading batches of a shard `partial` holds for exactly these `settings` (0 when it holds none, or
    progress made with other settings, which is then discarded)."""
    manifest = partial / "settings.json"
    if manifest.is_file() and json.loads(manifest.read_text()) == settings:
        done = 0
        while (partial / f"batch{done:06d}.npz").is_file():
            done += 1
        return done
    if partial.exists():
        print(f"{partial}: progress made with other settings; starting the shard over", file=sys.stderr)
        shutil.rmtree(partial)
    save_json(manifest, settings)
    return 0


def generate_cell(eps_model: EpsModel, model: str, out_dir: str | os.PathLike, *, shape: tuple[int, ...],
                  run: SamplerRun, n: int, shard: int,
                  extractor: Extractor, batch_size: int = 256, device: torch.device | str = "cpu",
                  fast_path: str = "fp32", keep_samples: bool = False, keep_floats: bool = False,
                  progress: bool = True, describe: dict | None = None) -> dict:
    """Sample shard `shard` (n images) of one cell, from the x_T drawn for `model` (a registry spec's `x_T_name`), and
    write, each atomically, into `out_dir`:
    features.npz, stats.npz, timing.json, plus samples.npz with keep_samples (`images`: uint8 NCHW) and with
    keep_floats (`images`, and `floats`: float32 NCHW in [0, 1], the pixels before rounding to uint8).

    Progress is committed batch by batch to `out_dir/.partial/`, and a rerun with the same settings resumes after
    the last finished batch; the folder is removed once the outputs are written. Timing leaves out the first batch
    each process samples (warm-up, compilation) when other batches were timed. Returns the timing record."""
    out_dir = Path(out_dir)
    partial = out_dir / PARTIAL
    settings = {"model": model, "shard": shard, "n": n, "shape": list(shape), **run.describe(),
                "batch_size": batch_size, "device": torch.device(device).type, "fast_path": fast_path,
                "extractor": extractor.name, "layer": extractor.layer, "keep_samples": keep_samples,
                "keep_floats": keep_floats}
    done = finished_batches(partial, settings)
    stale = [out_dir / name for name in SHARD_FILES if (out_dir / name).exists()]
    if stale:
        print(f"{out_dir}: removing an earlier run's outputs before new work: {', '.join(p.name for p in stale)}",
              file=sys.stderr)
        for path in stale:
            path.unlink()
    if done:
        print(f"{out_dir}: resuming after {done} finished batch(es) of {batch_size}", file=sys.stderr)
    batches = shard_batches(eps_model, model, shard, n, shape, run, batch_size=batch_size, device=device,
                            first_batch=done, progress=progress)
    kept = ("images",) * (keep_samples or keep_floats) + ("floats",) * keep_floats
    for b, (x0, seconds) in enumerate(batches, start=done):
        unit = to_unit(x0)
        images = unit_to_uint8(unit).cpu()
        saved = {"images": images.numpy()} if kept else {}
        if keep_floats:
            saved["floats"] = unit.cpu().numpy()
        save_npz(partial / f"batch{b:06d}.npz", features=extractor(images).numpy(), seconds=np.float64(seconds),
                 warmup=np.bool_(b == done), **saved)
    keys = ("features", "seconds", "warmup", *kept)
    parts = [load_npz(path, keys, "shard progress") for path in sorted(partial.glob("batch*.npz"))]
    features = [p["features"] for p in parts]
    timed = [p for p in parts if not p["warmup"]] or parts
    record = (describe or {}) | timing_record(
        sum(float(p["seconds"]) for p in timed), sum(len(p["features"]) for p in timed), run, batch_size,
        device, fast_path) | {"resumed_batches": done}
    save_feature_set(out_dir, np.concatenate(features), chunk_stats(features, extractor.name, extractor.layer))
    if kept:
        save_npz(out_dir / "samples.npz", **{key: np.concatenate([p[key] for p in parts]) for key in kept})
    save_json(out_dir / "timing.json", record)
    shutil.rmtree(partial)
    return record
