"""Samplers as data: every sampler the experiment can run, registered under a name with its parameters, its kind of time
grid, and how a budget of network evaluations (NFE) becomes steps.

A sampler is a function `fn(eps_model, x_T, grid, *, generator=None, **params) -> x_0` over a
`ddim_eval.sampling.times.TimeGrid` (k-diffusion's style: the grid is made outside, the function walks it). A
registered sampler names its function as "module:function", so this module stays torch-free: the workflow checks
a config's samplers (names, parameters, NFE against the order) while it builds the DAG, before any job.

A user's own sampler is the same: `{function: "package.module:function", grid: ..., nfe_per_step: ...}` in the
config, imported and its signature checked at DAG build (`user_sampler`).
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ddim_eval.sampling.times import GRIDS, TimeGrid, check_spacing

SAMPLER_ARGS = ("eps_model", "x_T", "grid")  # the positional arguments every sampler function takes
# The official ddpm_noisy update: a registered sampler, and the variant that the paper's tables set beside the etas.
SIGMA_HAT = "sigma_hat"


@dataclass(frozen=True)
class Param:
    default: Any
    choices: tuple | None = None  # the allowed values; None: a finite number >= minimum
    minimum: float = 0.0

    def check(self, key: str, value: Any) -> Any:
        if self.choices is not None:
            # Of the same type too: 2.0 == 2 and True == 1, but an order must be the integer.
            if not any(value == c and type(value) is type(c) for c in self.choices):
                raise ValueError(f"{key}: {value!r} is not allowed; allowed: {list(self.choices)}")
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                or value < self.minimum:
            raise ValueError(f"{key}: {value!r} is not allowed; allowed: a number >= {self.minimum}")
        return float(value)


@dataclass(frozen=True)
class Plan:
    steps: int  # steps of the time grid
    nfe: int  # network evaluations the sampler makes over it, exactly
    kwargs: dict[str, Any]  # the sampler function's keyword arguments
    nfe_per_step: int = 1  # what a step beyond `steps` costs (the official linear tau may hold one more)


@dataclass(frozen=True)
class SamplerDef:
    name: str
    function: str  # "module:function"
    grid: str  # a `ddim_eval.sampling.times.GRIDS` kind
    spacing: str | None  # the default spacing (None: the model's, the paper's choice)
    plan: Callable[[int, dict[str, Any], str | None], Plan]  # NFE budget, parameters, spacing -> plan (ValueError
    # if the budget cannot fit the order or warm-up)
    title: Callable[[dict[str, Any]], str]  # how tables and figures name it
    params: dict[str, Param] = field(default_factory=dict)
    # "module:function" called as fn(grid, **params), torch-free, raising ValueError where the parameters cannot
    # run on a grid (DDIM: an eta whose noise exceeds a step); the DAG build runs it for every planned cell.
    check: str | None = None


def _need(budget: int, least: int, why: str) -> None:
    if budget < least:
        raise ValueError(f"NFE {budget} is too small: {why} needs at least {least}")


def _one_per_step(budget: int, params: dict, spacing: str | None) -> Plan:
    order = int(params.get("order", 1))
    _need(budget, order, f"order {order}")
    return Plan(budget, budget, params)


def _pndm(warmup_extra: int, least_steps: int) -> Callable[[int, dict, str | None], Plan]:
    # PLMS's first step is a pseudo improved Euler step (one extra evaluation); F-PNDM's first three are pseudo
    # Runge-Kutta steps (four evaluations each, nine extra). Both need four previous eps to reach their order.
    def plan(budget: int, params: dict, spacing: str | None) -> Plan:
        _need(budget, least_steps + warmup_extra, f"{least_steps} steps plus the warm-up's {warmup_extra}")
        return Plan(budget - warmup_extra, budget, params)
    return plan


def fast_orders(budget: int, order: int) -> tuple[int, ...]:
    """DPM-Solver's "fast" order schedule (Lu et al. 2022, Sec. 3.4): steps of `order` that spend the budget
    exactly, lower orders last."""
    if order == 3:
        k = budget // 3 + 1
        return {0: (3,) * (k - 2) + (2, 1), 1: (3,) * (k - 1) + (1,), 2: (3,) * (k - 1) + (2,)}[budget % 3]
    if order == 2:
        return (2,) * (budget // 2) + ((1,) if budget % 2 else ())
    return (1,) * budget


def _dpm_solver(budget: int, params: dict, spacing: str | None) -> Plan:
    # As the authors do: with logSNR spacing the grid holds the steps and each step places its intermediate nodes
    # at r h in lambda; with time spacings the grid holds every evaluation, intermediate nodes included.
    order = int(params["order"])
    _need(budget, order, f"a singlestep solver of order {order}")
    orders = fast_orders(budget, order) if params["method"] == "fast" else (order,) * (budget // order)
    return Plan(len(orders) if spacing == "logSNR" else sum(orders), sum(orders), {"orders": orders})


def _heun(budget: int, params: dict, spacing: str | None) -> Plan:
    # Each step but the last (to sigma = 0, an Euler step) evaluates twice: NFE = 2 steps - 1, odd.
    _need(budget, 3, "Heun's second-order correction")
    steps = (budget + 1) // 2
    return Plan(steps, 2 * steps - 1, params)


def _dpm_solver_pp_title(p: dict[str, Any]) -> str:
    corrected = p["order"] == 3 and p["third_order"] == "corrected"
    return f"DPM-Solver++({p['order']}M{', corrected' if corrected else ''})"


ORDER = Param(2, (1, 2, 3))
LOWER_ORDER_FINAL = Param(True, (True, False))

SAMPLERS: dict[str, SamplerDef] = {s.name: s for s in (
    SamplerDef("ddim", "ddim_eval.sampling.ddim:ddim_sampler", "discrete", None, _one_per_step,
               lambda p: f"DDIM (eta={p['eta']:g})", {"eta": Param(0.0)},
               "ddim_eval.sampling.ddim_steps:generative_steps"),
    SamplerDef(SIGMA_HAT, "ddim_eval.sampling.ddim:sigma_hat_sampler", "discrete", None, _one_per_step,
               lambda p: "DDPM (sigma_hat)"),
    SamplerDef("plms", "ddim_eval.sampling.pndm:plms", "discrete", None, _pndm(1, 4), lambda p: "PLMS"),
    SamplerDef("fpndm", "ddim_eval.sampling.pndm:fpndm", "discrete", None, _pndm(9, 4), lambda p: "F-PNDM"),
    SamplerDef("dpm_solver", "ddim_eval.sampling.dpm:dpm_solver", "continuous", "logSNR", _dpm_solver,
               lambda p: f"DPM-Solver-{p['order']} ({p['method']})",
               {"order": Param(3, (1, 2, 3)), "method": Param("fast", ("fast", "singlestep"))}),
    SamplerDef("dpm_solver_pp", "ddim_eval.sampling.dpm:dpm_solver_pp", "continuous", "logSNR",
               _one_per_step, _dpm_solver_pp_title,
               {"order": ORDER, "lower_order_final": LOWER_ORDER_FINAL,
                "third_order": Param("authors", ("authors", "corrected"))}),
    SamplerDef("unipc", "ddim_eval.sampling.uni_pc:unipc", "continuous", "logSNR", _one_per_step,
               lambda p: f"UniPC-{p['order']} ({p['variant']})",
               {"order": ORDER, "variant": Param("bh2", ("bh1", "bh2")), "lower_order_final": LOWER_ORDER_FINAL}),
    # DEIS's tAB-r extrapolates eps by a degree-r polynomial, through r + 1 values: order r + 1 here (tAB0 is DDIM).
    # Its authors never lower the order in the last steps.
    SamplerDef("deis", "ddim_eval.sampling.tab_deis:deis", "continuous", "time_quadratic", _one_per_step,
               lambda p: f"DEIS tAB{p['order'] - 1}",
               {"order": Param(4, (1, 2, 3, 4)), "lower_order_final": Param(False, (True, False))}),
    SamplerDef("euler", "ddim_eval.sampling.karras:euler", "karras", "karras", _one_per_step,
               lambda p: "Euler (Karras)"),
    SamplerDef("heun", "ddim_eval.sampling.karras:heun", "karras", "karras", _heun, lambda p: "Heun (Karras)"),
)}

LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.=+-")
ALPHANUMERIC = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
# "nfe" belongs to the study (its budgets for this sampler), not to the sampler.
USER_KEYS = {"function", "grid", "nfe_per_step", "params", "spacing", "label", "nfe"}
BUILTIN_KEYS = {"name", "params", "spacing", "label", "nfe"}


@dataclass(frozen=True)
class SamplerSpec:
    """One sampler of a study: its definition, its checked parameters and spacing, and the label its cells use."""

    label: str  # how its entry names it (default: its key)
    definition: SamplerDef
    params: dict[str, Any]
    spacing: str | None  # None: the model's spacing
    key: str  # what it is: a registered name with its parameters that differ from the defaults ("ddim-eta=1.0"),
    # or a user sampler's label; it names the cells' folders, so two entries of one sampler share their cells

    @property
    def is_users(self) -> bool:
        """A user's function (a config entry's `function`), not the registry's."""
        return SAMPLERS.get(self.definition.name) is not self.definition

    @property
    def title(self) -> str:
        return self.definition.title(self.params)

    def plan(self, budget: int) -> Plan:
        """The steps and exact NFE of a run with `budget` network evaluations; ValueError naming the sampler when
        the budget cannot fit its order or warm-up."""
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise ValueError(f"sampler {self.label!r}: NFE must be a positive integer, got {budget!r}")
        try:
            return self.definition.plan(budget, self.params, self.spacing)
        except ValueError as e:
            raise ValueError(f"sampler {self.label!r}: {e}") from None

    def check_grid(self, grid: TimeGrid) -> None:
        """ValueError naming the sampler where its parameters cannot run on `grid` (its definition's `check`)."""
        if self.definition.check:
            try:
                load_function(self.definition.check)(grid, **self.params)
            except ValueError as e:
                raise ValueError(f"sampler {self.label!r}: {e}") from None


def check_label(label: str) -> str:
    if not isinstance(label, str) or not set(label) <= LABEL_CHARS or not set(label) & ALPHANUMERIC:
        raise ValueError(f"sampler label {label!r} must be a string of letters, digits and _.=+-, with at least one "
                         "letter or digit (it names folders)")
    return label


def _check_params(definition: SamplerDef, params: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = sorted(set(params) - set(definition.params))
    if unknown:
        raise ValueError(f"{where}: unknown parameter(s) {unknown} of sampler {definition.name!r}; allowed: "
                         f"{sorted(definition.params) or 'none'}")
    return {k: p.check(f"{where}.{k}", params.get(k, p.default)) for k, p in definition.params.items()}


def _builtin(entry: dict[str, Any]) -> SamplerSpec:
    name = entry["name"]
    if not isinstance(name, str) or name not in SAMPLERS:
        raise ValueError(f"sampler {name!r} is not registered; registered: {sorted(SAMPLERS)} (or name your own "
                         "with function: package.module:function)")
    definition = SAMPLERS[name]
    params = _check_params(definition, entry.get("params") or {}, f"sampler {name!r}")
    changed = [f"{k}={v}" for k, v in params.items() if v != definition.params[k].default]
    key = "-".join([name, *changed])
    return SamplerSpec(check_label(entry.get("label") or key), definition, params,
                       entry.get("spacing") or definition.spacing, key)


def _per_step(nfe_per_step: int) -> Callable[[int, dict, str | None], Plan]:
    def plan(budget: int, params: dict, spacing: str | None) -> Plan:
        _need(budget, nfe_per_step, f"{nfe_per_step} evaluations per step")
        return Plan(budget // nfe_per_step, budget // nfe_per_step * nfe_per_step, params, nfe_per_step)
    return plan


def _module_and_name(path: str) -> tuple[str, str]:
    module, _, attr = path.partition(":") if isinstance(path, str) else ("", "", "")
    if not module or not attr:
        raise ValueError(f"sampler function {path!r} must read 'package.module:function'")
    return module, attr


def load_function(path: str) -> Callable:
    """The function at "package.module:function"; ValueError saying what is missing."""
    module, attr = _module_and_name(path)
    try:
        fn = getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as e:
        raise ValueError(f"sampler function {path!r}: cannot import {module!r} ({e})") from None
    except AttributeError:
        raise ValueError(f"sampler function {path!r}: module {module!r} has no {attr!r}") from None
    if not callable(fn):
        raise ValueError(f"sampler function {path!r} is a {type(fn).__name__}, not a function")
    return fn


def _user(entry: dict[str, Any]) -> SamplerSpec:
    path, grid = entry["function"], entry.get("grid", "discrete")
    if grid not in GRIDS:
        raise ValueError(f"sampler {path!r}: grid {grid!r} is unknown; allowed: {sorted(GRIDS)}")
    per_step = entry.get("nfe_per_step", 1)
    if isinstance(per_step, bool) or not isinstance(per_step, int) or per_step < 1:
        raise ValueError(f"sampler {path!r}: nfe_per_step must be a positive integer, got {per_step!r}")
    params = dict(entry.get("params") or {})
    _module_and_name(path)
    label = check_label(entry.get("label") or path.rpartition(":")[2])
    default_spacing = {"discrete": None, "continuous": "logSNR", "karras": "karras"}[grid]
    definition = SamplerDef(path, path, grid, default_spacing, _per_step(per_step), lambda p: label)
    return SamplerSpec(label, definition, params, entry.get("spacing") or default_spacing, label)


def paper_entry(variant: float | str) -> dict[str, Any]:
    """The sampler entry of a variant of the paper's tables: an eta of eq. 12 (DDIM), or "sigma_hat" (the official
    update)."""
    return {"name": SIGMA_HAT} if variant == SIGMA_HAT else {"name": "ddim", "params": {"eta": variant}}


def sampler_spec(entry: str | dict[str, Any]) -> SamplerSpec:
    """A config entry (a registered name, or a mapping with `name` or a user's `function`) as a checked
    `SamplerSpec`; ValueError naming the bad key or value."""
    if not isinstance(entry, str | dict):
        raise ValueError(f"sampler entry {entry!r} is neither a name nor a mapping (name: ..., params: ...)")
    entry = {"name": entry} if isinstance(entry, str) else dict(entry)
    allowed = USER_KEYS if "function" in entry else BUILTIN_KEYS
    if ("function" in entry) == ("name" in entry) or set(entry) - allowed:
        raise ValueError(f"sampler entry {entry!r}: give either name (a registered sampler: {sorted(SAMPLERS)}) "
                         f"or function (package.module:function); allowed keys: {sorted(allowed)}")
    spec = _user(entry) if "function" in entry else _builtin(entry)
    if spec.spacing is not None:
        try:
            check_spacing(spec.definition.grid, spec.spacing)
        except ValueError as e:
            raise ValueError(f"sampler {spec.label!r}: {e}") from None
    return spec
