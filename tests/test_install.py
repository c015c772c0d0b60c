"""What `pip install -e .` installs: the environment files agree with pyproject.toml, and the guard that the
workflow tests run under makes exactly the test extra's modules absent."""

import subprocess
import sys

import yaml

from helpers import ROOT, absent_without_test_extra, main_install_env, requirement_closure


def test_environment_files_install_this_package_with_one_python():
    root_env = yaml.safe_load((ROOT / "environment.yml").read_text())
    rules_env = yaml.safe_load((ROOT / "workflow/envs/ddim-eval.yaml").read_text())
    for env in (root_env, rules_env):
        assert "python=3.11" in env["dependencies"] and "pip" in env["dependencies"]
    assert root_env["dependencies"][-1] == {"pip": ["-e .[test]"]}  # the repository, with the test extra
    assert rules_env["dependencies"][-1] == {"pip": ["-e ../.."]}  # from .snakemake/conda/: the repository
    assert 'requires-python = ">=3.11"' in (ROOT / "pyproject.toml").read_text()  # tomllib; the envs' 3.11


def test_what_the_report_and_tables_need_is_a_main_dependency():
    closure = requirement_closure()
    assert {"pygments", "pandas", "tabulate", "lazy-loader", "snakemake", "torch-fidelity"} <= closure
    assert not {"pytest", "snakefmt", "ruff"} & closure


def test_the_guard_hides_the_test_extra_only():
    assert {"pytest", "snakefmt", "ruff"} <= absent_without_test_extra()
    code = "import snakemake, torch_fidelity, pandas, tabulate, pygments, lazy_loader, ddim_eval.cli"
    assert subprocess.run([sys.executable, "-c", code], env=main_install_env()).returncode == 0
    hidden = subprocess.run([sys.executable, "-c", "import pytest"], env=main_install_env(), capture_output=True,
                            text=True)
    assert hidden.returncode != 0 and "No module named 'pytest' (not installed by `pip install -e .`)" in hidden.stderr
