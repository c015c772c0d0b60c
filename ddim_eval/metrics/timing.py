"""Sampling time, in the units of the paper's Figure 4: hours to sample 50k images."""

from __future__ import annotations

import time

import torch

from ddim_eval.sampling.common import EpsModel
from ddim_eval.sampling.run import SamplerRun
from ddim_eval.wallclock import best_wall_time, device_name, synchronize

FIGURE4_IMAGES = 50_000


def timed_sample(eps_model: EpsModel, x: torch.Tensor, run: SamplerRun, generator: torch.Generator | None = None
                 ) -> tuple[torch.Tensor, float]:
    """`run(eps_model, x, generator)` and its wall time in seconds, the device synchronised before and after."""
    synchronize(x.device)
    t0 = time.perf_counter()
    x0 = run(eps_model, x, generator)
    synchronize(x.device)
    return x0, time.perf_counter() - t0


def timing_record(seconds: float, images: int, run: SamplerRun, batch_size: int, device: torch.device | str,
                  fast_path: str = "fp32") -> dict:
    """Per-image-per-network-evaluation cost ("per step": one evaluation per step for DDIM), throughput and the
    derived hours for 50k images, with what they were measured on (`fast_path`: how the network ran,
    `ddim_eval.models.fastpath.FastPath.label`)."""
    evals = run.nfe
    per_image_step = seconds / (images * evals)
    return {
        "device": device_name(device), "batch_size": batch_size, "fast_path": fast_path, "sampler": run.label,
        "network_evals": evals, "distinct_timesteps": run.distinct_times, "images": images, "seconds": seconds,
        "seconds_per_image_per_step": per_image_step, "images_per_second": images / seconds,
        "hours_per_50k": per_image_step * evals * FIGURE4_IMAGES / 3600,
    }


@torch.no_grad()
def time_sampling(eps_model: EpsModel, shape: tuple[int, ...], run: SamplerRun, *, batch_size: int,
                  device: torch.device | str = "cpu", fast_path: str = "fp32", warmup: int = 1,
                  repeats: int = 3) -> dict:
    """Time whole sampling runs of one batch: `warmup` untimed runs, then the best of `repeats` timed runs
    (`best_wall_time`)."""
    device = torch.device(device)
    x = torch.randn((batch_size, *shape), generator=torch.Generator().manual_seed(0)).to(device)
    gen = torch.Generator(device=device).manual_seed(0)
    best = best_wall_time(lambda: run(eps_model, x, gen), device, warmup=warmup, repeats=repeats)
    return timing_record(best, batch_size, run, batch_size, device, fast_path) | {"warmup": warmup,
                                                                                   "repeats": repeats}
