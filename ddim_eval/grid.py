"""The experiment grid of a workflow config: which cells, reconstructions and timings the tables need.

A cell is (dataset, S, variant, spacing); a variant is an eta value or sigma_hat, labelled as in the paper's
tables ("eta=0.0", "sigma_hat"). Tables are views over cells: a cell two tables need is listed once. The JSON
schema (config/schema.yaml) checks types and ranges; `check_config` checks what needs the model registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ddim_eval.registry import ModelSpec, get_model_spec, load_registry
from ddim_eval.sampling import SIGMA_HAT, Eta

FID_TABLES = ("table1", "table3")
ALL_TABLES = ("table1", "table2", "table3", "timing")
# Result paths under a run's folder (results/<run>), shared by the workflow's rules and the table builder.
CELL_DIR = "{out}/cells/{dataset}/{spacing}/S{steps}/{variant}"
RECON_PATH = "{out}/recon/{dataset}/{spacing}/S{steps}.json"
TIMING_PATH = "{out}/timing/{dataset}/{spacing}/S{steps}.json"


@dataclass(frozen=True, order=True)
class Cell:
    dataset: str
    steps: int
    variant: str  # "eta=<float>" or "sigma_hat"
    spacing: str


def variant_label(variant: Eta) -> str:
    return SIGMA_HAT if variant == SIGMA_HAT else f"eta={float(variant)}"


def parse_variant(label: str) -> Eta:
    if label == SIGMA_HAT:
        return SIGMA_HAT
    if not label.startswith("eta="):
        raise ValueError(f"variant {label!r} is neither 'eta=<number>' nor {SIGMA_HAT!r}")
    return float(label.removeprefix("eta="))


def model_spec(config: dict[str, Any], dataset: str) -> ModelSpec:
    return get_model_spec(config["datasets"][dataset]["model"])


def spacing(config: dict[str, Any], dataset: str) -> str:
    """The dataset's tau spacing: its config entry's, else its model's (the paper's choice)."""
    return config["datasets"][dataset].get("spacing") or model_spec(config, dataset).spacing


def check_config(config: dict[str, Any]) -> None:
    """Raise ValueError naming the key for what the schema cannot see: datasets a table names but the config does
    not define, unregistered models, S above the model's T, and splits a table needs but the dataset lacks."""
    registry = load_registry()
    for name, entry in config["datasets"].items():
        if entry["model"] not in registry:
            raise ValueError(f"datasets.{name}.model: {entry['model']!r} is not a registered model; registered: "
                             f"{sorted(registry)}")
    for table in ALL_TABLES:
        for dataset in config[table]["datasets"]:
            if dataset not in config["datasets"]:
                raise ValueError(f"{table}.datasets: unknown dataset {dataset!r}; defined under datasets: "
                                 f"{sorted(config['datasets'])}")
            T = registry[config["datasets"][dataset]["model"]].T
            too_many = [s for s in config[table]["steps"] if s > T]
            if too_many:
                raise ValueError(f"{table}.steps: {too_many} exceed T = {T} of dataset {dataset!r}'s model; "
                                 f"allowed: 1..{T}")
    for dataset in config["table2"]["datasets"]:
        if not config["datasets"][dataset].get("recon_split"):
            raise ValueError(f"datasets.{dataset}.recon_split: table2 reconstructs {dataset!r}, so it needs a split")


def fid_cells(config: dict[str, Any]) -> list[Cell]:
    """Every cell Tables 1 and 3 need, each once, sorted."""
    return sorted({Cell(d, s, variant_label(v), spacing(config, d))
                   for table in FID_TABLES for d in config[table]["datasets"]
                   for s in config[table]["steps"] for v in config[table]["variants"]})


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


def table_inputs(config: dict[str, Any], out: str) -> list[str]:
    """Every result file the tables read."""
    return ([CELL_DIR.format(out=out, **vars(c)) + "/metrics.json" for c in fid_cells(config)]
            + [RECON_PATH.format(out=out, dataset=d, spacing=sp, steps=s) for d, sp, s in recon_runs(config)]
            + [TIMING_PATH.format(out=out, dataset=d, spacing=sp, steps=s) for d, sp, s in timing_runs(config)])
