"""The experiment grid of a workflow config: which cells, reconstructions and timings the tables need.

A cell is (dataset, spacing, sampler, budget): a sampler of the registry (or the user's) with its parameters, named
by its key (`ddim_eval.sampling.samplers.SamplerSpec.key`: "ddim", "ddim-eta=1.0", "unipc-order=3"), and an NFE
budget. The paper's (S, eta) cells are DDIM's cells with budget S (`paper_cell`); the sampler study's are its
samplers'. Tables are views over cells: a cell two tables need (Table 1's eta = 0 and the study's DDIM) is listed
once. The JSON schema (workflow/schemas/config.schema.yaml) checks types and ranges; `checks.check_config` checks
what needs the model and sampler registries.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

from ddim_eval.data import celeba, cifar10, digits, lsun
from ddim_eval.models.fastpath import FastPath
from ddim_eval.models.registry import ModelSpec, get_model_spec, load_registry
from ddim_eval.sampling.samplers import SamplerSpec, paper_entry, sampler_spec

FID_TABLES = ("table1", "table3")
ALL_TABLES = ("table1", "table2", "table3", "timing")
# Tables whose entries carry bootstrap replicates, so that the report compares them pairwise (<table>_comparisons).
COMPARED_TABLES = ("table1", "table2", "table3")
# Result paths inside a run's folder (`run_dir`), shared by the workflow's rules and the table builder.
CELL_DIR = "cells/{dataset}/{spacing}/NFE{budget}/{sampler}"
RECON_PATH = "recon/{dataset}/{spacing}/S{steps}.json"
TIMING_PATH = "timing/{dataset}/{spacing}/S{steps}.json"
# A user's sample set (config `external`) scored as a cell is; the protocol study's record.
EXTERNAL_PATH = "external/{name}/metrics.json"
PROTOCOL_PATH = "protocol/study.json"
# Prepared splits, shared by every run: built-in sources under their own name, hand-prepared ones (source
# "prepared") under the dataset's name.
DATA_PATH = "resources/{name}/{split}.npy"
# The splits each built-in data source provides.
SOURCE_SPLITS = {"digits": digits.SPLITS, "cifar10": cifar10.SPLITS, "celeba": tuple(celeba.SPLITS),
                 **{f"lsun_{category}": lsun.SPLITS for category in lsun.CATEGORIES}}
# The sources whose preparation resizes (the protocol study's resize filters apply to them).
RESIZED_SOURCES = ("celeba", *(f"lsun_{category}" for category in lsun.CATEGORIES))
PREPARED = "prepared"


@dataclass(frozen=True, order=True)
class Cell:
    dataset: str
    budget: int  # network evaluations per image (DDIM: S, the steps)
    sampler: str  # the sampler's key
    spacing: str

    @property
    def path(self) -> str:
        return CELL_DIR.format(**vars(self))


@functools.cache
def registry() -> dict[str, ModelSpec]:
    """The model registry as the experiment needs it: names, schedules, spacings, checkpoints (read once; networks are
    built, and so checked, by the jobs that load them)."""
    return load_registry(check_networks=False)


def run_dir(config: dict[str, Any]) -> str:
    """Where a run's results go: `results/<run>`."""
    return f"results/{config['run']}"


def model_spec(config: dict[str, Any], dataset: str) -> ModelSpec:
    return get_model_spec(config["datasets"][dataset]["model"], registry())


def spacing(config: dict[str, Any], dataset: str) -> str:
    """The dataset's tau spacing: its config entry's, else its model's (the paper's choice)."""
    return config["datasets"][dataset].get("spacing") or model_spec(config, dataset).spacing


def data_path(config: dict[str, Any], dataset: str, split: str) -> str:
    source = config["datasets"][dataset]["source"]
    return DATA_PATH.format(name=dataset if source == PREPARED else source, split=split)


def image_limits(config: dict[str, Any], source: str) -> set[int | None]:
    return {e.get("max_images") for e in config["datasets"].values() if e["source"] == source}


def max_images(config: dict[str, Any], source: str) -> int | None:
    """How many images of each split of `source` to prepare (None: all), as its datasets agree."""
    limits = image_limits(config, source)
    return limits.pop() if limits else None


def fast_path(config: dict[str, Any]) -> FastPath:
    """How the run's network jobs run the network (the config's `fast_path`, default strict fp32 eager)."""
    try:
        return FastPath(**config.get("fast_path", {}))
    except ValueError as e:
        raise ValueError(f"fast_path: {e}") from None


def checked_spec(entry: Any, where: str) -> SamplerSpec:
    """`sampler_spec(entry)`, its error prefixed with `where` (the config key)."""
    try:
        return sampler_spec(entry)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from None


def paper_spec(variant: float | str) -> SamplerSpec:
    """The sampler of a variant of the paper's tables (an eta of eq. 12, or "sigma_hat")."""
    return checked_spec(paper_entry(variant), f"variant {variant!r}")


def paper_cell(config: dict[str, Any], dataset: str, steps: int, variant: float | str) -> Cell:
    """The cell of the paper's S steps at a variant: DDIM's (or the sigma_hat update's) at budget S."""
    return Cell(dataset, steps, paper_spec(variant).key, spacing(config, dataset))


def fid_cells(config: dict[str, Any]) -> list[Cell]:
    """Every cell Tables 1 and 3 need, each once, sorted."""
    return sorted({paper_cell(config, d, s, v) for table in FID_TABLES for d in config[table]["datasets"]
                   for s in config[table]["steps"] for v in config[table]["variants"]})


def study_samplers(config: dict[str, Any]) -> list[SamplerSpec]:
    """The sampler study's samplers, checked (a user's function is imported by `check_config`, not here); [] without
    a study."""
    study = config.get("samplers") or {"samplers": []}
    return [checked_spec(entry, f"samplers.samplers[{i}]") for i, entry in enumerate(study["samplers"])]


def sampler_spacing(config: dict[str, Any], spec: SamplerSpec, dataset: str) -> str:
    """A sampler's spacing on `dataset`: its own, else (a discrete grid) the dataset's."""
    return spec.spacing or spacing(config, dataset)


def _budgets(config: dict[str, Any]) -> list[tuple[SamplerSpec, list[int]]]:
    """Each study sampler with its NFE budgets: its entry's `nfe`, else the study's."""
    study = config["samplers"]
    return [(spec, entry.get("nfe") or study["nfe"] if isinstance(entry, dict) else study["nfe"])
            for entry, spec in zip(study["samplers"], study_samplers(config))]


class StudyCell(NamedTuple):
    dataset: str
    sampler: SamplerSpec
    budget: int  # the NFE budget
    cell: Cell  # where its samples and metrics are


def study_cells(config: dict[str, Any]) -> list[StudyCell]:
    """Every entry of the sampler study, in config order (dataset, sampler, NFE budget), with its cell."""
    if not config.get("samplers"):
        return []
    return [StudyCell(d, spec, nfe, Cell(d, nfe, spec.key, sampler_spacing(config, spec, d)))
            for d in config["samplers"]["datasets"] for spec, budgets in _budgets(config) for nfe in budgets]


def sampler_cells(config: dict[str, Any]) -> list[Cell]:
    """The cells of the sampler study, each once, in config order."""
    return list(dict.fromkeys(s.cell for s in study_cells(config)))


def sampler_entries(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every sampler the config's cells run, by key: the entry `ddim-eval sample --sampler` takes (a mapping
    without the study's `nfe` and without `spacing`, which the cell's folder gives)."""
    variants = {v for t in FID_TABLES for v in config[t]["variants"]}
    entries = [(paper_spec(v), paper_entry(v)) for v in sorted(variants, key=str)]
    if config.get("samplers"):
        entries += [(spec, {"name": entry} if isinstance(entry, str) else entry)
                    for entry, spec in zip(config["samplers"]["samplers"], study_samplers(config))]
    return {spec.key: {k: v for k, v in entry.items() if k not in ("nfe", "spacing", "label")}
            for spec, entry in entries}


def study_inputs(config: dict[str, Any], out: str) -> list[str]:
    """Every result file the sampler study's table reads: each cell's metrics and its shard 0 timing (which holds
    the NFE it ran), and the metrics of the user's sample sets it shows."""
    return ([f"{out}/{c.path}/{name}" for c in sampler_cells(config) for name in ("metrics.json", "shard0/timing.json")]
            + [f"{out}/{EXTERNAL_PATH.format(name=e['name'])}" for e in external_sets(config, "samplers")])


def external_sets(config: dict[str, Any], table: str | None = None) -> list[dict[str, Any]]:
    """The user's sample sets (config `external`) shown in `table` (default: all), in config order."""
    return [e for e in config.get("external", []) if table in (None, e["table"])]


def protocol_cells(config: dict[str, Any]) -> dict[str, Cell]:
    """The cells the protocol study reads, by role: "paper" (DDIM, eta = 0, at the study's S and the dataset's
    spacing: its samples are kept), and where planned "spacing" (the other spacing), "checkpoint" (the other
    weights' dataset) and "resize" (the resize dataset's cell at the study's S, where that is another dataset); {}
    without a study."""
    study = config.get("protocol_study")
    if not study:
        return {}
    paper = paper_cell(config, study["dataset"], study["steps"], 0.0)
    roles = {"paper": paper}
    if study.get("spacing"):
        roles["spacing"] = dataclasses.replace(paper, spacing=study["spacing"])
    if study.get("checkpoint"):
        roles["checkpoint"] = dataclasses.replace(paper, dataset=study["checkpoint"])
    if reference_preparations(config) and resize_dataset(config) != study["dataset"]:
        roles["resize"] = paper_cell(config, resize_dataset(config), study["steps"], 0.0)
    return roles


def resize_dataset(config: dict[str, Any]) -> str:
    """The dataset whose reference the protocol study prepares anew with other resize filters or crops (default: the
    study's own)."""
    study = config["protocol_study"]
    return study.get("resize_dataset") or study["dataset"]


def reference_preparations(config: dict[str, Any]) -> list[tuple[str, str]]:
    """The protocol study's other preparations of the resize dataset's reference, as (deviation, name): ("resize",
    a filter) and ("crop", a CelebA crop); [] without a study or without them."""
    study = config.get("protocol_study") or {}
    return ([("resize", f) for f in study.get("resize_filters", [])]
            + [("crop", c) for c in study.get("celeba_crops", [])])


def shards(config: dict[str, Any]) -> list[tuple[int, int]]:
    """(shard index, size) covering n_samples in shard_size pieces; the last may be smaller."""
    n, size = config["n_samples"], config["shard_size"]
    return [(k, min(size, n - k * size)) for k in range((n + size - 1) // size)]


def recon_runs(config: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(dataset, spacing, S) of every Table 2 reconstruction."""
    t = config["table2"]
    return [(d, spacing(config, d), s) for d in t["datasets"] for s in t["steps"]]


def timing_runs(config: dict[str, Any]) -> list[tuple[str, str, int]]:
    """(dataset, spacing, S) of every Figure 4 timing."""
    t = config["timing"]
    return [(d, spacing(config, d), s) for d in t["datasets"] for s in t["steps"]]


def protocol_inputs(config: dict[str, Any], out: str) -> list[str]:
    """Every cell result the protocol study reads: the paper cell's and the resize cell's shards' features (the
    kept samples.npz beside them is no declared output) and every cell's metrics."""
    roles = protocol_cells(config)
    if not roles:
        return []
    return ([f"{out}/{roles[role].path}/shard{k}/features.npz" for role in ("paper", "resize") if role in roles
             for k, _ in shards(config)]
            + [f"{out}/{cell.path}/metrics.json" for cell in roles.values()])


def table_inputs(config: dict[str, Any], out: str) -> list[str]:
    """Every result file the tables read."""
    return ([f"{out}/{c.path}/metrics.json" for c in fid_cells(config)]
            + [f"{out}/{EXTERNAL_PATH.format(name=e['name'])}" for t in FID_TABLES for e in external_sets(config, t)]
            + [f"{out}/{RECON_PATH.format(dataset=d, spacing=sp, steps=s)}" for d, sp, s in recon_runs(config)]
            + [f"{out}/{TIMING_PATH.format(dataset=d, spacing=sp, steps=s)}" for d, sp, s in timing_runs(config)])
