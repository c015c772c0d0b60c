"""The workflow and the package pass their linters: `snakemake --lint`, `snakefmt --check` and ruff."""

import subprocess
import sys

from helpers import ROOT


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def test_snakemake_lint_is_clean():
    result = run(sys.executable, "-m", "snakemake", "--lint")
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "Congratulations, your workflow is in a good condition!" in output, output[-4000:]


def test_snakefmt_would_change_nothing():
    result = run(sys.executable, "-m", "snakefmt", "--check", "workflow/")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_is_clean():
    result = run(sys.executable, "-m", "ruff", "check", "ddim_eval", "tests", "benchmarks", "workflow/scripts", ".test")
    assert result.returncode == 0, result.stdout + result.stderr
