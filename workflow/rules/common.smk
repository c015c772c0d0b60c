# Shared by every rule: the validated config, the experiment it defines, and the output paths.
import json
import os
import re
import shlex
import sys

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate
from snakemake_interface_executor_plugins.settings import DeploymentMethod

from ddim_eval import experiment
from ddim_eval.experiment import devices
from ddim_eval.experiment.cells import SOURCE_SPLITS
from ddim_eval.io import check_output
from ddim_eval.models.fastpath import FLAGS as FAST_PATH_FLAGS
from ddim_eval.sampling.samplers import LABEL_CHARS
from ddim_eval.sampling.times import ALL_SPACINGS

# The schema's verdict in one line (Snakemake's validate prints the whole schema), then validate to fill defaults.
_schema_error = experiment.schema_error(config, workflow.source_path("../schemas/config.schema.yaml"))
if _schema_error:
    raise WorkflowError(f"config: {_schema_error}")
validate(config, "../schemas/config.schema.yaml")
# A user's sampler module may sit in the working directory: jobs import it from there (`python -m` puts the working
# directory on sys.path), and so does the check of the study's samplers below.
sys.path.insert(0, os.getcwd())
# Checked once, by the Snakemake that plans: each job's own Snakemake (two per SLURM job) reads the same config, and
# the checks import torch, a user's sampler module and torch-fidelity (seconds per job on a busy node).
if workflow.is_main_process:
    try:
        experiment.check_config(config)
        experiment.check_extractor(config)
    except ValueError as e:
        raise WorkflowError(f"config: {e}") from None


# Every job runs the library's command line in one environment, the interpreter that runs Snakemake or, under
# --use-conda, the jobs' environment (ENV). Checkpoints live in CACHE, filled only by the local fetch jobs;
# every other job runs with downloads switched off, so compute nodes never need the network.
ENV = "../envs/ddim-eval.yaml"
USE_CONDA = DeploymentMethod.CONDA in workflow.deployment_settings.deployment_method
PYTHON = "python" if USE_CONDA else sys.executable
CACHE = config.get("checkpoint_cache", "resources/checkpoints")
# Paths enter shell lines quoted (a folder name may hold spaces); the rules quote theirs with `:q`.
FETCH = f"DDIM_EVAL_CACHE={shlex.quote(CACHE)} {shlex.quote(PYTHON)} -m ddim_eval.cli"
DDIM_EVAL = f"DDIM_EVAL_OFFLINE=1 {FETCH}"
OUT = experiment.run_dir(config)
# The folders jobs write, checked before any job: a read-only results folder or cache fails here, not after work.
for _folder, _key in ((OUT, "run"), (CACHE, "checkpoint_cache"), ("resources", "the prepared data (resources/)")):
    try:
        check_output(_folder, folder=True)
    except ValueError as e:
        raise WorkflowError(f"config: {_key}: {e}") from None
SHARDS = dict(experiment.shards(config))
# "auto" means the GPUs of the machine that runs Snakemake (on a cluster, name the device: cuda).
DEVICE = config.get("device", "cpu")
if DEVICE == "auto":
    DEVICE = "cuda" if devices.visible_gpus() else "cpu"
BATCH = config.get("batch_size", 256)
# Feature extraction has no measured batch: "auto" is about the sampling network.
FEATURE_BATCH = 256 if BATCH == "auto" else BATCH
# One GPU per GPU job: SLURM gets --gpus=1. A local run (no --jobs limit on submitted nodes) starts at most one
# GPU job per visible GPU unless `--resources gpu=<count>` (or the profile) says how many, and each job claims a
# GPU of its own (ddim_eval.experiment.devices). A plan may be made on any machine; running it locally needs a GPU,
# checked before any job starts (a count the user gives is trusted: a container may lack nvidia-smi).
GPU = 1 if DEVICE.startswith("cuda") else 0
GPU_SLOTS = devices.visible_gpus() if GPU and workflow.nodes is None else 0
GPU_COUNT_GIVEN = "gpu" in workflow.global_resources
if GPU_SLOTS and not GPU_COUNT_GIVEN:
    workflow.register_resource("gpu", GPU_SLOTS)


onstart:
    if GPU and workflow.local_exec and not (GPU_SLOTS or GPU_COUNT_GIVEN):
        raise WorkflowError(
            f"config: device: {DEVICE!r} asks for a GPU, but none is visible here (CUDA_VISIBLE_DEVICES, "
            "nvidia-smi); use device: cpu, run on a GPU machine, or submit with --profile profiles/slurm"
        )


wildcard_constraints:
    dataset="[A-Za-z0-9_]+",
    split="[A-Za-z0-9_]+",
    spacing="|".join(ALL_SPACINGS),
    steps="[0-9]+",
    budget="[0-9]+",
    shard="[0-9]+",
    name="[A-Za-z0-9_.+-]+",
    sampler=f"[{re.escape(''.join(sorted(LABEL_CHARS)))}]+",


def results(*parts):
    """A path inside this run's folder, results/<run>/ (wildcards kept)."""
    return "/".join([OUT, *parts])


def dataset_split(dataset, split):
    return experiment.data_path(config, dataset, split)


def max_images_arg(source):
    limit = experiment.max_images(config, source)
    return f"--max-images {limit}" if limit else ""


def reference_dir(dataset):
    return results(f"reference/{dataset}-{config['datasets'][dataset]['reference_split']}")


def _inception_weights():
    # Imported only when needed: torch-fidelity takes seconds to import, and every DAG build would pay them.
    from ddim_eval.metrics.extractors import inception_weights_name

    return f"{CACHE}/torch-fidelity/{inception_weights_name()}"


# Inception's weights come from the internet: the local fetch rule puts them in the cache unless the config names
# a local copy, so feature jobs run offline like the rest.
FETCH_INCEPTION = config["extractor"]["name"] == "inception-v3-compat" and not config["extractor"].get("weights_path")
EXTRACTOR_WEIGHTS = config["extractor"].get("weights_path") or (_inception_weights() if FETCH_INCEPTION else None)


def extractor_args():
    e = config["extractor"]
    args = f"--extractor {e['name']}"
    if e.get("layer"):
        args += f" --layer {e['layer']}"
    if EXTRACTOR_WEIGHTS:
        args += f" --weights-path {shlex.quote(EXTRACTOR_WEIGHTS)}"
    return args


def interval_args():
    i = config["intervals"]
    return f"--level {i['level']} --n-boot {i['n_boot']} --seed {i['seed']}"


def fast_path_args():
    """The command-line flags of the config's fast path (how network jobs run the network)."""
    f = experiment.fast_path(config)
    flags = [f"--{name.replace('_', '-')}" for name in FAST_PATH_FLAGS if getattr(f, name)]
    return " ".join([f"--precision {f.precision}", *flags])


def metric_args():
    flags = [
        flag
        for flag, key in (("--fid-infinity", "fid_infinity"), ("--precision-recall", "precision_recall"))
        if config[key]
    ]
    return " ".join([*flags, f"--kid-subsets {config['kid_subsets']}"])


# Every sampler the cells run, by the key that names its cells' folders.
SAMPLER_ENTRIES = experiment.sampler_entries(config)


def sampler_args(wildcards):
    """A cell's sampler on the command line: its config entry (JSON, which the command reads as YAML) with its NFE
    budget."""
    entry = json.dumps(SAMPLER_ENTRIES[wildcards.sampler])
    return f"--nfe {wildcards.budget} --sampler {shlex.quote(entry)}"


# The cells whose uint8 samples are kept (samples.npz): every cell with keep_samples, and the protocol study's
# (with its float pixels where the study has float_samples).
PROTOCOL_CELLS = experiment.protocol_cells(config)
PROTOCOL = config.get("protocol_study") or {}


def keep_samples_arg(wildcards):
    study_cell = PROTOCOL_CELLS.get("paper")
    is_study_cell = study_cell is not None and study_cell.path == experiment.CELL_DIR.format(**wildcards)
    floats = " --keep-floats" if is_study_cell and PROTOCOL["float_samples"] else ""
    return ("--keep-samples" if config.get("keep_samples") or is_study_cell else "") + floats


# The splits the protocol study reads: the reference split (other extractors score it) and the other reference
# split.
def protocol_splits():
    entry = config["datasets"][PROTOCOL["dataset"]]
    splits = [entry["reference_split"]] if PROTOCOL["extractors"] else []
    return [dataset_split(PROTOCOL["dataset"], s) for s in splits + [PROTOCOL["reference_split"]] if s]


# The downloaded files the study prepares the resize dataset's reference from anew ([] without filters or crops).
def protocol_raw_files():
    if not experiment.reference_preparations(config):
        return []
    source = config["datasets"][experiment.resize_dataset(config)]["source"]
    if source == "celeba":
        return list(rules.download_celeba.output)
    return expand(rules.download_lsun.output, category=source.removeprefix("lsun_"))


# The user's sample sets, by name.
EXTERNAL = {e["name"]: e for e in experiment.external_sets(config)}


def sampling_batch(wildcards):
    """The dataset's sampling batch size (large images need smaller batches), else the config's."""
    return config["datasets"][wildcards.dataset].get("batch_size", BATCH)


def model(wildcards):
    return config["datasets"][wildcards.dataset]["model"]


def random_weights(dataset):
    return config["datasets"][dataset].get("random_weights", False)


# Downloadable checkpoints the config's datasets need: cache path -> model name (packaged ones need none, nor do
# datasets sampled with random weights).
CHECKPOINTS = {
    spec.checkpoint_file: spec.name
    for spec in (experiment.model_spec(config, d) for d in config["datasets"] if not random_weights(d))
    if spec.checkpoint_url != "package"
}


def checkpoint(wildcards):
    spec = experiment.model_spec(config, wildcards.dataset)
    needed = spec.checkpoint_file in CHECKPOINTS and not random_weights(wildcards.dataset)
    return [f"{CACHE}/{spec.checkpoint_file}"] if needed else []


def random_weights_args(wildcards):
    return "--random-weights" if random_weights(wildcards.dataset) else ""


def _check_local_files():
    """Files only the user can provide must be in place before the DAG is built: say exactly where and what."""
    weights = config["extractor"].get("weights_path")
    if weights and not os.path.exists(weights):
        raise WorkflowError(
            f"extractor.weights_path: {weights} does not exist (set it to a local copy of the "
            f"extractor's weights, or to null to have the workflow fetch Inception's)"
        )
    made = {dataset_split(d, s) for d, e in config["datasets"].items() for s in SOURCE_SPLITS.get(e["source"], ())}
    for i, e in enumerate(experiment.external_sets(config)):
        if not os.path.exists(e["path"]) and e["path"] not in made:
            raise WorkflowError(
                f"external[{i}].path: {e['path']} does not exist (a folder of PNG or JPEG images, an .npz or an .npy "
                "array of samples; relative paths start at the working directory)"
            )
    for name, entry in config["datasets"].items():
        if entry["source"] != "prepared":
            continue
        splits = {entry["reference_split"], entry.get("recon_split")} - {None}
        for path in (dataset_split(name, s) for s in sorted(splits)):
            if not os.path.exists(path):
                raise WorkflowError(
                    f"dataset {name!r} (source: prepared) needs {path}: a uint8 NumPy array "
                    "[N, C, H, W] of the split's images (ddim_eval.data.save_images writes one)"
                )


_check_local_files()
