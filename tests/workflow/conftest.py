"""The workflow tests' shared runs: the small grid run once per session (its results are compared with the same
grid run through SLURM), and a one-node SLURM cluster on this machine."""

import shutil
import subprocess

import pytest

from ddim_eval.metrics.digits_cnn import PACKAGED_WEIGHTS

from grid_runs import snakemake, spaced_config
from helpers import ROOT


@pytest.fixture(scope="session")
def small_run(tmp_path_factory):
    """The small grid, with every path it writes or reads through a folder whose name holds a space: the checkout
    (`CHECKOUT`), the working directory, the checkpoint cache and the extractor's weights file (shell lines quote
    each path)."""
    workdir = tmp_path_factory.mktemp("work dir")
    (workdir / "my weights").mkdir()
    shutil.copy(PACKAGED_WEIGHTS, workdir / "my weights/digits cnn.safetensors")
    result = snakemake(workdir, spaced_config(workdir))
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


@pytest.fixture(scope="session")
def slurm_cluster():
    """A one-node SLURM cluster (profiles/slurm/local-cluster.sh: installs slurm-wlm and munge when missing, starts
    the daemons for this machine's cores and memory). A cluster that cannot start fails the tests with its reason:
    CI must run them."""
    script = str(ROOT / "profiles/slurm/local-cluster.sh")
    started = subprocess.run([script, "start"], capture_output=True, text=True)
    if started.returncode != 0:
        pytest.fail(f"the local SLURM cluster did not start:\n{started.stdout}{started.stderr}", pytrace=False)
    yield
    stopped = subprocess.run([script, "stop"], capture_output=True, text=True)
    assert stopped.returncode == 0, stopped.stderr
