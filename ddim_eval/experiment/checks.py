"""What a workflow config can get wrong beyond its JSON schema, refused while Snakemake builds the DAG (before any
job), each error naming the config key: unknown datasets and models, S above T, an eta too large for a step of a
planned grid, a sampler's budget below its order, a device or feature extractor that does not exist.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from ddim_eval.data import celeba
from ddim_eval.data.resize import FILTERS, PAPER_FILTER
from ddim_eval.experiment.cells import (
    ALL_TABLES,
    FID_TABLES,
    RESIZED_SOURCES,
    SOURCE_SPLITS,
    checked_spec,
    fast_path,
    image_limits,
    model_spec,
    reference_preparations,
    registry,
    resize_dataset,
    shards,
    spacing,
    study_cells,
    study_samplers,
)
from ddim_eval.experiment.devices import check_device_name
from ddim_eval.sampling.samplers import paper_entry
from ddim_eval.sampling.times import check_spacing, time_grid


def check_config(config: dict[str, Any]) -> None:
    """Raise ValueError naming the key for what the schema cannot see: CUDA graphs without compile, datasets a table
    names but the config does not define, unregistered models, S above the model's T, an eta too large for a step of
    a planned grid, splits a source lacks or a table needs, and LSUN without an image limit."""
    fast_path(config)
    check_device_name(config.get("device", "cpu"))
    sizes = [size for _, size in shards(config)]
    if min(sizes) < 2:
        raise ValueError(f"shard_size: n_samples = {config['n_samples']} in shards of {config['shard_size']} leaves a "
                         f"shard of {min(sizes)} sample; a shard's statistics need at least 2 (a covariance): "
                         "change n_samples or shard_size")
    models = registry()
    for name, entry in config["datasets"].items():
        if entry["model"] not in models:
            raise ValueError(f"datasets.{name}.model: {entry['model']!r} is not a registered model; registered: "
                             f"{sorted(models)}")
        splits = SOURCE_SPLITS.get(entry["source"])
        for key in ("reference_split", "recon_split"):
            if splits and entry.get(key) and entry[key] not in splits:
                raise ValueError(f"datasets.{name}.{key}: source {entry['source']!r} has no split {entry[key]!r}; "
                                 f"allowed: {list(splits)}")
        if entry.get("spacing"):
            try:
                check_spacing("discrete", entry["spacing"])
            except ValueError as e:
                raise ValueError(f"datasets.{name}.spacing: {e}") from None
        if entry["source"].startswith("lsun_") and not entry.get("max_images"):
            raise ValueError(f"datasets.{name}.max_images: LSUN needs a limit on the images prepared (the paper's "
                             "reference is not stated; 50000 matches n_samples; bedroom holds 3 million)")
    for source in SOURCE_SPLITS:
        limits = image_limits(config, source)
        if len(limits) > 1:
            raise ValueError(f"datasets.*.max_images: datasets with source {source!r} share its prepared files, "
                             f"so they need one max_images; got {sorted(limits, key=str)}")
    for key, datasets, steps in _step_lists(config):
        for dataset in datasets:
            if dataset not in config["datasets"]:
                raise ValueError(f"{key.split('.')[0]}.datasets: unknown dataset {dataset!r}; defined under "
                                 f"datasets: {sorted(config['datasets'])}")
            T = models[config["datasets"][dataset]["model"]].T
            too_many = [s for s in steps if s > T]
            if too_many:
                raise ValueError(f"{key}: {too_many} exceed T = {T} of dataset {dataset!r}'s model; "
                                 f"allowed: 1..{T}")
    _check_variants(config)
    if config.get("samplers"):
        _check_study(config)
    for dataset in config["table2"]["datasets"]:
        if not config["datasets"][dataset].get("recon_split"):
            raise ValueError(f"datasets.{dataset}.recon_split: table2 reconstructs {dataset!r}, so it needs a split")
    _check_external(config)
    if config.get("protocol_study"):
        _check_protocol_study(config)


def check_extractor(config: dict[str, Any]) -> None:
    """ValueError when torch-fidelity's registry lacks the config's extractor or its layer (a check of its own:
    importing torch-fidelity takes seconds)."""
    from ddim_eval.metrics.extractors import check_extractor as check

    study = config.get("protocol_study") or {}
    for key, e in [("extractor", config["extractor"]),
                   *((f"protocol_study.extractors[{i}]", e) for i, e in enumerate(study.get("extractors", [])))]:
        try:
            check(e["name"], e.get("layer"))
        except ValueError as error:
            raise ValueError(f"{key}: {error}") from None


def _check_external(config: dict[str, Any]) -> None:
    """Each user's sample set: a unique name, a dataset its table shows, a variant of that table."""
    names = [e["name"] for e in config.get("external", [])]
    for i, e in enumerate(config.get("external", [])):
        key, table = f"external[{i}]", config.get(e["table"]) or {}
        if e["name"] in names[:i]:
            raise ValueError(f"{key}.name: {e['name']!r} names two sample sets; each needs a name of its own")
        if e["dataset"] not in table.get("datasets", []):
            raise ValueError(f"{key}.dataset: {e['dataset']!r} is not a dataset of {e['table']} (its datasets: "
                             f"{table.get('datasets', [])}); the row is scored against that dataset's reference")
        if "variant" in e:
            if e["table"] == "samplers":
                raise ValueError(f"{key}.variant: the sampler study's rows have no variant; it is compared with "
                                 "the study's first sampler")
            checked_spec(paper_entry(e["variant"]), f"{key}.variant")


def _check_protocol_study(config: dict[str, Any]) -> None:
    """The study's dataset and S, the other spacing, the other weights' dataset (same network, same data, same x_T),
    the other reference split and the sample counts."""
    study, datasets = config["protocol_study"], config["datasets"]
    name = study["dataset"]
    if name not in datasets:
        raise ValueError(f"protocol_study.dataset: unknown dataset {name!r}; defined under datasets: "
                         f"{sorted(datasets)}")
    spec, entry = model_spec(config, name), datasets[name]
    if study["steps"] > spec.T:
        raise ValueError(f"protocol_study.steps: {study['steps']} exceeds T = {spec.T} of {name!r}'s model")
    if study.get("spacing"):
        try:
            check_spacing("discrete", study["spacing"])
        except ValueError as e:
            raise ValueError(f"protocol_study.spacing: {e}") from None
        if study["spacing"] == spacing(config, name):
            raise ValueError(f"protocol_study.spacing: {study['spacing']!r} is the spacing of {name!r}'s cells "
                             "already; name the other one (linear or quadratic)")
    other = study.get("checkpoint")
    if other:
        if other not in datasets or other == name:
            raise ValueError(f"protocol_study.checkpoint: {other!r} is not another dataset of the config (defined: "
                             f"{sorted(datasets)}); define one whose model is the other weights")
        twin = model_spec(config, other)
        same = [(key, datasets[other][key], entry[key]) for key in ("source", "reference_split")
                if datasets[other][key] != entry[key]]
        if twin.unet_config() != spec.unet_config() or twin.x_T_name != spec.x_T_name or same:
            raise ValueError(f"protocol_study.checkpoint: dataset {other!r} (model {twin.name!r}) is not {name!r}'s "
                             "network with other weights on the same data and x_T (registry key x_T_of; "
                             f"differences: {same or 'the network or x_T'})")
    splits = SOURCE_SPLITS.get(entry["source"])
    ref = study.get("reference_split")
    if ref and (ref == entry["reference_split"] or (splits and ref not in splits)):
        raise ValueError(f"protocol_study.reference_split: {ref!r} is not another split of {name!r} (its reference: "
                         f"{entry['reference_split']!r}; its splits: {list(splits or [])})")
    too_many = [n for n in study.get("sample_counts", []) if n >= config["n_samples"]]
    if too_many:
        raise ValueError(f"protocol_study.sample_counts: {too_many} are not fewer than n_samples = "
                         f"{config['n_samples']}")
    _check_resize(config)


def _check_resize(config: dict[str, Any]) -> None:
    """The resize filters and crops: known, not the paper's, on a dataset whose preparation resizes (crops: CelebA)."""
    study, datasets = config["protocol_study"], config["datasets"]
    name = resize_dataset(config)
    if name not in datasets:
        raise ValueError(f"protocol_study.resize_dataset: unknown dataset {name!r}; defined under datasets: "
                         f"{sorted(datasets)}")
    for key, allowed, paper, sources in (("resize_filters", FILTERS, PAPER_FILTER, RESIZED_SOURCES),
                                         ("celeba_crops", celeba.CROPS, celeba.PAPER_CROP, ("celeba",))):
        bad = [x for x in study.get(key, []) if x not in allowed or x == paper]
        if bad:
            raise ValueError(f"protocol_study.{key}: {bad}: allowed {[x for x in allowed if x != paper]} (the "
                             f"paper's {paper!r} is what each row is compared with)")
        if study.get(key) and datasets[name]["source"] not in sources:
            raise ValueError(f"protocol_study.{key}: dataset {name!r} has source {datasets[name]['source']!r}; they "
                             f"apply to the sources {list(sources)} only (set resize_dataset to such a dataset)")
    if reference_preparations(config) and study["steps"] > model_spec(config, name).T:
        raise ValueError(f"protocol_study.steps: {study['steps']} exceeds T = {model_spec(config, name).T} of "
                         f"{name!r}'s model (the resize dataset)")


def _check_variants(config: dict[str, Any]) -> None:
    """Each variant of Tables 1 and 3 and of the sample figure, on every step of every grid it is planned on (an eta
    too large for one step of one S is refused here, not in that cell's jobs)."""
    f = config["figures"]
    planned = [(f"{t}.variants", config[t]) for t in FID_TABLES]
    planned.append(("figures.samples.variants", {"datasets": f["datasets"], **f["samples"]}))
    for key, part in planned:
        for i, variant in enumerate(part["variants"]):
            spec = checked_spec(paper_entry(variant), f"{key}[{i}]")
            for dataset, steps in ((d, s) for d in part["datasets"] for s in part["steps"]):
                grid = time_grid(model_spec(config, dataset).alphas_cumprod(), "discrete", steps,
                                 spacing(config, dataset))
                try:
                    spec.check_grid(grid)
                except ValueError as e:
                    raise ValueError(f"{key}[{i}]: dataset {dataset!r} at S = {steps}: {e}") from None


def _step_lists(config: dict[str, Any]) -> list[tuple[str, list[str], list[int]]]:
    """(config key, datasets, S values) of every table and figure."""
    f = config["figures"]
    study = [("samplers.datasets", config["samplers"]["datasets"], [])] if config.get("samplers") else []
    return ([(f"{t}.steps", config[t]["datasets"], config[t]["steps"]) for t in ALL_TABLES] + study
            + [(f"figures.{part}.steps", f["datasets"], f[part]["steps"]) for part in ("samples", "consistency")]
            + [("figures.interpolation.steps", f["datasets"], [f["interpolation"]["steps"]])])


def _check_study(config: dict[str, Any]) -> None:
    """Sampler names, parameters, spacings and labels, and each NFE budget against each sampler's order."""
    specs = study_samplers(config)
    for what in ("label", "key"):
        names = [getattr(s, what) for s in specs]
        if len(set(names)) < len(names):
            raise ValueError(f"samplers.samplers: {what}s {names} repeat; each entry must be another sampler, "
                             "with its own label")
    for study in study_cells(config):
        try:  # the time grid too: a spacing the model's schedule cannot give, or more steps than T, fails here
            plan = study.sampler.plan(study.budget)
            grid = time_grid(model_spec(config, study.dataset).alphas_cumprod(), study.sampler.definition.grid,
                             plan.steps, study.cell.spacing)
        except ValueError as e:
            where = "" if str(e).startswith("sampler ") else f"sampler {study.sampler.label!r} at NFE {study.budget}: "
            raise ValueError(f"samplers.nfe: {where}{e}") from None
        try:
            study.sampler.check_grid(grid)
            if study.sampler.is_users:  # its module (which may import torch) is imported by this check alone
                from ddim_eval.sampling.run import sampling_function

                sampling_function(study.sampler, plan.kwargs)
        except ValueError as e:
            raise ValueError(f"samplers.samplers: dataset {study.dataset!r} at NFE {study.budget}: {e}") from None



def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """A config file's YAML as a mapping; ValueError naming the file, and the line and column of a syntax error
    (Snakemake's own reading of --configfile names neither)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file {path} does not exist")
    try:
        config = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        raise ValueError(f"{path}{where}: not valid YAML: {getattr(e, 'problem', None) or e}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: a config is a mapping of keys (run: ..., datasets: ...); got "
                         f"{type(config).__name__}")
    return config


def check_config_file(path: str | os.PathLike, schema_path: str | os.PathLike) -> dict[str, Any]:
    """A config file checked as the workflow checks it at DAG build (YAML, the schema, its defaults filled in,
    `check_config`, `check_extractor`); the config, or ValueError with the first problem in one line."""
    from snakemake.utils import validate

    from ddim_eval.experiment.schema import schema_error

    config = load_config(path)
    error = schema_error(config, schema_path)
    if error:
        raise ValueError(f"{path}: {error}")
    validate(config, str(schema_path))  # fills the schema's defaults, as the workflow does
    try:
        check_config(config)
        check_extractor(config)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return config
