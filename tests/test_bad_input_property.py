"""Property-based: configs and command lines generated around valid ones, most of them broken in one or two places.
Each either plans or runs, or stops before any work with one line that names what is wrong: never a traceback, never
an exception the user was not meant to see, never a half-written file under a final name.

The counts of generated inputs are the `max_examples` below (the note of issue 20 gives them as run)."""

import copy
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ddim_eval.cli.config import SCHEMA
from ddim_eval.cli.main import main
from ddim_eval.experiment.checks import check_config_file

from helpers import ROOT, main_install_env

SMALL = yaml.safe_load((ROOT / ".test/config/config.yaml").read_text())
# The small grid's study names a user's sampler beside its config, which the DAG build imports from the working
# directory; the in-process checks import it from there.
sys.path.insert(0, str(ROOT / ".test"))
SETTINGS = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Values a user might type anywhere: right and wrong types, out of range, misspellings, NaN.
ANY_VALUE = st.sampled_from([0, 1, -1, 2, 5, 10, 1001, 10**9, 0.5, -0.5, 1.5, 50.0, math.nan, math.inf, True, None, "",
                             "cpu", "cuda", "gpu", "auto", "linear", "quadratic", "cosine", "digits", "digit",
                             "sigma_hat", "sigma", "fp16", "int8", "digits-cnn", "inception", [], [0.0], [5, 10],
                             [-1], ["ddim"], {}, {"name": "ddim"}, {"name": "ddim", "params": {"eta": 9}}])
STEPS = [[5], [5, 10], [1], [1000], [1001], [0], [], [2.5], ["5"]]
VARIANTS = [[0.0], [0.0, 1.0], ["sigma_hat"], [0.5, "sigma_hat"], [1.0, 1.1], [2.0], [-0.5], ["sigma"], [math.nan],
            [1.0, 1.0]]
SAMPLERS = [["ddim"], ["heun", "plms"], [{"name": "unipc", "params": {"order": 3}}], ["fpndm"], ["ddim", "ddim"],
            [{"name": "ddim", "params": {"eta": 1.0}}], [{"name": "ddim", "params": {"eta": 3.0}}],
            [{"name": "dpm_solver", "params": {"order": 4}}], [{"name": "deis", "spacing": "karras"}], ["Heun"],
            [{"function": "user_sampler:ddim_by_hand"}], [{"function": "user_sampler:nothing"}]]
# Where in the small grid's config a value may land (a path of keys; the last may be new), with values a user would
# plausibly put there, valid or not; any value may land anywhere too.
KEYS = {
    ("run",): ["mine", "a b", ""], ("device",): ["cpu", "auto", "cuda:0", "CPU", "gpu"],
    ("batch_size",): [1, 64, "auto", 0, "big"], ("n_samples",): [1, 30, 61, 0, -5], ("shard_size",): [1, 7, 0],
    ("n_sample",): [100], ("extractor", "name"): ["digits-cnn", "digit-cnn", "inception-v3-compat", "vgg16"],
    ("extractor", "layer"): [None, "logits", "2048"], ("extractor", "weights_path"): [None, "nowhere.pth"],
    ("fid_infinity",): [True, False, "yes"], ("kid_subsets",): [0, 10, -1],
    ("datasets", "digits", "model"): ["digits", "cifar10", "imagenet64"],
    ("datasets", "digits", "spacing"): ["linear", "quadratic", "trailing", "logSNR", "cosine"],
    ("datasets", "digits", "reference_split"): ["train", "test", "valid"],
    ("datasets", "digits", "recon_split"): ["test", "train", None, "val"],
    ("datasets", "cifar"): [{"model": "cifar10", "source": "cifar10", "reference_split": "train"}],
    ("table1", "steps"): STEPS, ("table1", "variants"): VARIANTS, ("table1", "datasets"): [["digits"], ["cifar"], []],
    ("table2", "steps"): STEPS, ("table2", "n"): [None, 5, 0], ("table3", "variants"): VARIANTS,
    ("timing", "steps"): STEPS, ("timing", "batch_size"): [4, "auto", 0], ("samplers", "nfe"): [[5], [3, 20], [0], [2]],
    ("samplers", "samplers"): SAMPLERS, ("samplers", "datasets"): [["digits"], ["digit"]],
    ("figures", "samples", "variants"): VARIANTS, ("figures", "interpolation", "points"): [2, 5, 1],
    ("intervals", "level"): [0.9, 0.99, 1.0, 0], ("intervals", "n_boot"): [10, 2, 1],
    ("fast_path", "precision"): ["fp32", "bf16", "fp64"], ("fast_path", "cuda_graphs"): [False, True],
    ("checkpoint_cache",): ["cache", "my cache"],
}


@st.composite
def configs(draw) -> dict:
    """The small grid's config with one to three values replaced (or keys removed)."""
    config = copy.deepcopy(SMALL)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(sorted(KEYS)))
        node = config
        for key in path[:-1]:
            node = node.setdefault(key, {}) if isinstance(node, dict) else {}
        if not isinstance(node, dict):
            continue
        choice = draw(st.integers(0, 9))
        if choice == 0 and path[-1] in node and len(path) > 1:
            del node[path[-1]]
        else:
            node[path[-1]] = draw(ANY_VALUE if choice <= 2 else st.sampled_from(KEYS[path]))
    return config


def _check(path: Path) -> str | None:
    """None if the config is valid, else its one-line error; any other exception fails the test."""
    try:
        check_config_file(path, SCHEMA)
    except ValueError as e:
        assert "\n" not in str(e) and str(e).startswith(str(path)), str(e)
        return str(e)
    return None


@settings(max_examples=300, **SETTINGS)
@given(config=configs())
def test_a_generated_config_is_valid_or_one_line(tmp_path_factory, config):
    path = tmp_path_factory.mktemp("config") / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    _check(path)


@settings(max_examples=30, **SETTINGS)
@given(config=configs())
def test_the_workflow_plans_exactly_the_configs_check_config_accepts(tmp_path_factory, config):
    """The DAG build itself (a Snakemake dry run): the same verdict as `check-config`, and a refusal is one line
    before any job."""
    workdir = tmp_path_factory.mktemp("work")
    (workdir / "user_sampler.py").write_text((ROOT / ".test/user_sampler.py").read_text())
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    error = _check(path)
    result = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "workflow/Snakefile"), "-n", "-q",
                             "--directory", str(workdir), "--configfile", str(path)], capture_output=True, text=True,
                            env=main_install_env(), cwd=workdir)
    output = result.stdout + result.stderr
    assert (result.returncode == 0) == (error is None), (error, output[-1500:])
    if error:
        lines = [line for line in output.splitlines() if line.startswith("config: ")]
        assert len(lines) == 1 and "Traceback" not in output, output[-1500:]
        assert error.endswith(lines[0].removeprefix("config: ")), (error, lines[0])
    assert not (workdir / "results").exists() and not (workdir / "resources").exists()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    """A reference and two sampled shards to point commands at."""
    root = tmp_path_factory.mktemp("world")
    main(["prepare-digits", str(root / "data")])
    main(["reference-stats", str(root / "data/train.npy"), str(root / "ref"), "--extractor", "digits-cnn"])
    for k in (0, 1):
        main(["sample", "digits", str(root / f"cell/shard{k}"), "--nfe", "3", "--n", "6", "--shard", str(k)])
    return root


# Mostly valid values, so that many commands run to the end; the rest are what users mistype.
NUMBER = st.one_of(st.sampled_from(["2", "3", "4"]), st.sampled_from(["2", "3"]), st.sampled_from(["2", "5"]),
                   st.sampled_from(["1", "0", "-1", "1.5", "abc", "", "1e9"]))
SAMPLER = st.sampled_from(["ddim", "ddim", "heun", "dpm_solver_pp", "{name: ddim, params: {eta: 1.0}}", "fpndm",
                           "nope", "{name: ddim, params: {eta: 80}}", "{name: ddim", "[ddim]", "{function: no.mod:f}"])
DEVICE = st.sampled_from(["cpu", "auto", "cpu", "auto", "cuda", "cuda:7", "gpu", "mps0"])


@st.composite
def command_lines(draw, root: Path) -> list[str]:
    """A command of the suite with arguments drawn from valid and invalid values, its outputs under `root/out`."""
    out = root / "out" / str(draw(st.integers(0, 10**6)))
    ref, cell = str(root / "ref/stats.npz"), root / "cell"
    features = [str(cell / f"shard{k}/features.npz") for k in draw(st.sampled_from([(0, 1), (1, 0), (0,), (0, 0)]))]
    stats = draw(st.sampled_from([ref, str(cell / "shard0/stats.npz"), str(root / "data/train.npy"), "missing.npz"]))
    command = draw(st.sampled_from(["sample", "time", "reconstruct", "fid", "merge-stats", "timesteps",
                                    "check-config", "fid-figure", "smaple"]))
    if command in ("sample", "time"):
        target = out if command == "sample" else out / "t.json"
        args = [command, draw(st.sampled_from(["digits", "digits", "digts", "cifar10"])), str(target), "--nfe",
                draw(NUMBER),
                "--sampler", draw(SAMPLER), "--device", draw(DEVICE), "--batch-size", draw(NUMBER)]
        args += ["--n", draw(NUMBER)] if command == "sample" else ["--repeats", draw(NUMBER), "--warmup", "0"]
        return args + ["--no-download"]
    if command == "reconstruct":
        data = draw(st.sampled_from([str(root / "data/test.npy"), ref, "missing.npy"]))
        return [command, "digits", data, str(out / "r.json"), "--steps", draw(NUMBER), "--n", draw(NUMBER),
                "--device", draw(DEVICE)]
    if command == "fid":
        return [command, stats, ref, "--features", *features, "--n-boot", draw(NUMBER), "--level",
                draw(st.sampled_from(["0.95", "1.5", "x"])), "--kid-subsets", "0", "--out", str(out / "fid.json")]
    if command == "merge-stats":
        return [command, *[p.replace("features", "stats") for p in features], str(out / "stats.npz")]
    if command == "timesteps":
        return [command, draw(NUMBER), "--spacing", draw(st.sampled_from(["linear", "cosine"]))]
    if command == "check-config":
        return [command, draw(st.sampled_from([str(ROOT / "config/config.yaml"), str(ROOT / "README.md"),
                                               "missing.yaml"]))]
    if command == "fid-figure":
        return [command, draw(st.sampled_from([str(root / "data/train.npy"), str(ROOT / "README.md")])),
                str(out / "figure")]
    return [command, draw(NUMBER)]


def _outputs_are_whole(root: Path) -> None:
    """Every file under root/out is complete: no temp file left (`atomic_path`'s are hidden: .<name>.<random>)
    outside a shard's kept progress (.partial/), every .npz and .json readable."""
    for path in (root / "out").rglob("*"):
        if path.is_file():
            assert not path.name.startswith(".") or ".partial" in path.parts, path
            if path.suffix == ".npz":
                with np.load(path) as archive:
                    archive.files  # noqa: B018 - reading the index is the check
            elif path.suffix == ".json":
                json.loads(path.read_text())


@settings(max_examples=150, **SETTINGS)
@given(data=st.data())
def test_a_generated_command_line_runs_or_stops_with_one_line(world, capsys, data):
    argv = data.draw(command_lines(world))
    try:
        main(argv)
        code = 0
    except SystemExit as e:
        code = e.code
    err = capsys.readouterr().err
    if code == 2:  # a usage error: argparse's usage and one error line
        assert err.strip().splitlines()[-1].startswith("ddim-eval"), err
    elif code not in (0, None):
        assert isinstance(code, str) and code.startswith(f"ddim-eval {argv[0]}: error: ") and "\n" not in code, code
        assert "Traceback" not in err and "(set DDIM_EVAL_DEBUG=1" not in code, code  # an error meant for users
    _outputs_are_whole(world)
