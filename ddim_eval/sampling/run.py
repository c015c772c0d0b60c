"""A sampler bound to its run: the registered (or user's) function, the time grid its NFE budget and spacing
give, and its planned keyword arguments; the one object the experiment's shards, timings and fast-path checks call."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from ddim_eval.sampling.common import EpsModel
from ddim_eval.sampling.samplers import SAMPLER_ARGS, SamplerSpec, load_function, sampler_spec
from ddim_eval.sampling.times import TimeGrid, time_grid


class SamplerRun(NamedTuple):
    label: str  # the cell's sampler label
    fn: Callable[..., Tensor]  # fn(eps_model, x_T, grid, *, generator, **kwargs) -> x_0
    grid: TimeGrid
    kwargs: dict[str, Any]
    nfe: int  # network evaluations per image, exactly
    spacing: str

    def __call__(self, eps_model: EpsModel, x_T: Tensor, generator: torch.Generator | None = None) -> Tensor:
        return self.fn(eps_model, x_T, self.grid, generator=generator, **self.kwargs)

    def describe(self) -> dict[str, Any]:
        """What identifies the run (JSON): label, the function that runs, parameters, NFE, spacing and the grid's
        network times (a shard resumes only on progress made with all of these)."""
        return {"sampler": self.label, "function": f"{self.fn.__module__}:{self.fn.__qualname__}",
                "params": _jsonable(self.kwargs), "nfe": self.nfe, "spacing": self.spacing,
                "grid_t": [None if math.isnan(t) else float(t) for t in self.grid.t]}

    @property
    def distinct_times(self) -> int:
        """Distinct network times of the grid's nodes a step starts from (DDIM's quadratic tau repeats some; the
        last node is where sampling ends)."""
        return len({float(t) for t in self.grid.t[:-1]})


def _jsonable(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in kwargs.items()}


def sampling_function(spec: SamplerSpec, kwargs: dict[str, Any]) -> Callable:
    """The function that runs `spec`, imported, and checked to take fn(eps_model, x_T, grid, generator=...,
    **kwargs) (`kwargs`: its plan's); ValueError saying what is missing. A user's module is imported here, not
    when its entry becomes a spec: planning a run (every Snakemake job's DAG build) imports no sampler module."""
    path = spec.definition.function
    fn = load_function(path)
    try:
        inspect.signature(fn).bind(*SAMPLER_ARGS, generator=None, **kwargs)
    except TypeError as e:
        raise ValueError(f"sampler function {path!r}{inspect.signature(fn)} cannot be called as "
                         f"{path.rpartition(':')[2]}(eps_model, x_T, grid, *, generator, "
                         f"{', '.join(f'{k}=...' for k in kwargs) or 'no parameters'}): {e}") from None
    return fn


def prepare(spec: SamplerSpec | str | dict, budget: int, alphas_cumprod: np.ndarray,
            model_spacing: str = "linear") -> SamplerRun:
    """`spec` (or a config entry for it) with an NFE budget, on the schedule `alphas_cumprod`; its spacing, else
    `model_spacing` (the paper's choice for the model) for a discrete grid."""
    spec = spec if isinstance(spec, SamplerSpec) else sampler_spec(spec)
    plan = spec.plan(budget)
    spacing = spec.spacing or model_spacing
    grid = time_grid(alphas_cumprod, spec.definition.grid, plan.steps, spacing)
    # The official linear tau holds more than S steps when S does not divide T: each extra one costs a step's NFE.
    nfe = plan.nfe + (grid.steps - plan.steps) * plan.nfe_per_step
    return SamplerRun(spec.label, sampling_function(spec, plan.kwargs), grid, plan.kwargs, nfe, spacing)
