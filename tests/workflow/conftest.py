"""The workflow tests' shared run: the small grid, once per session (its results are compared with the same grid run
through SLURM)."""

import shutil

import pytest

from ddim_eval.metrics.digits_cnn import PACKAGED_WEIGHTS

from grid_runs import snakemake, spaced_config


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
