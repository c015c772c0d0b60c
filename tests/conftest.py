import shutil
import subprocess
from pathlib import Path

import pytest

from helpers import PAYLOAD, ROOT, FileServer

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference() -> Path:
    """../shared/reference: the official-code fixtures, kept outside the project (a user's clone lacks them)."""
    if not REFERENCE.is_dir():
        pytest.skip(f"{REFERENCE} is absent: the official-code fixtures live beside the checkout, not in it")
    return REFERENCE


@pytest.fixture(scope="session")
def digits_images():
    """The demo dataset's (train, test) uint8 image arrays."""
    from ddim_eval.data import digits

    return digits.load("train")[0], digits.load("test")[0]


@pytest.fixture
def server():
    """A local HTTP server serving /model.ckpt (PAYLOAD)."""
    s = FileServer()
    s.files["/model.ckpt"] = PAYLOAD
    yield s
    s.httpd.shutdown()


LOCAL_CLUSTER = str(ROOT / "profiles/slurm/local-cluster.sh")


def _start_cluster() -> None:
    started = subprocess.run([LOCAL_CLUSTER, "start"], capture_output=True, text=True)
    if started.returncode != 0:
        pytest.fail(f"the local SLURM cluster did not start:\n{started.stdout}{started.stderr}", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def _slurm_answers_at_once():
    """Where SLURM is installed, its controller runs for the whole session: snakemake-executor-plugin-slurm asks
    `scontrol show config` whenever Snakemake starts, and waits 10 s where the controller is down (every workflow
    run and plan of the tests would pay it). Where SLURM is not installed, nothing is asked and nothing waits."""
    if shutil.which("scontrol") and subprocess.run(["pgrep", "-x", "slurmctld"], capture_output=True).returncode:
        _start_cluster()
    yield


@pytest.fixture(scope="session")
def slurm_cluster():
    """A one-node SLURM cluster (profiles/slurm/local-cluster.sh: installs slurm-wlm and munge when missing, starts
    the daemons for this machine's cores and memory). A cluster that cannot start fails the tests with its reason:
    CI must run them."""
    _start_cluster()
    yield
    stopped = subprocess.run([LOCAL_CLUSTER, "stop"], capture_output=True, text=True)
    assert stopped.returncode == 0, stopped.stderr
