"""Wall-clock time of device work: the device's name, synchronisation, and the best of repeated runs."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


def device_name(device: torch.device | str) -> str:
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{device.type} ({torch.get_num_threads()} threads)"


def synchronize(device: torch.device | str) -> None:
    """Wait for queued device work, so wall-clock time covers it (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def best_wall_time(run: Callable[[], object], device: torch.device | str, *, warmup: int = 1,
                   repeats: int = 3) -> float:
    """The best wall time in seconds of `repeats` calls of `run` after `warmup` untimed ones (compilation, graph
    capture, autotuning), each bracketed by device synchronisation; the best, since slower runs measure
    interference, not the code."""
    if warmup < 0 or repeats < 1:
        raise ValueError(f"need warmup >= 0 and repeats >= 1; got warmup={warmup}, repeats={repeats}")
    for _ in range(warmup):
        run()
    times = []
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        run()
        synchronize(device)
        times.append(time.perf_counter() - start)
    return min(times)
