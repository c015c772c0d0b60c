"""What the package installs: the environment files agree with pyproject.toml, the guard that the workflow tests
run under makes exactly the test extra's modules absent, and a wheel carries every data file the package reads."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def test_a_wheel_installs_every_data_file_the_package_reads(tmp_path):
    """Build a wheel, install it without -e into a fresh venv (the dependencies come from this environment's
    site-packages, so nothing is downloaded), and run, outside the repository, what reads each packaged file."""
    data_files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "ddim_eval").rglob("*")
                        if p.is_file() and p.suffix not in (".py", ".pyc"))
    # models.toml, three weights files, two CSV files: a new one needs a check
    assert len(data_files) == 6, data_files
    # From a copy of the sources as a clone has them: an egg-info or build folder here could supply missing files.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "results", "resources",
                                                                "site", "__pycache__"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(tmp_path / "dist"), str(source)], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-3000:]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # This environment's packages as a plain path entry: its editable ddim_eval hook (a .pth file) is not run.
    deps = next(p for p in map(Path, sys.path) if p.name == "site-packages" and (p / "torch").is_dir())
    (Path(site) / "deps.pth").write_text(f"{deps}\n")
    wheel = next((tmp_path / "dist").glob("ddim_eval-*.whl"))
    installed = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                                str(wheel)], capture_output=True, text=True)
    assert installed.returncode == 0, installed.stderr[-3000:]
    code = ("import ddim_eval, sys; from pathlib import Path\n"
            "assert 'site-packages' in ddim_eval.__file__, ddim_eval.__file__\n"
            "from ddim_eval.report import sampler_study, tables\n"
            "print(len(tables.paper_values()), len(sampler_study.published()))\n"
            "from ddim_eval.cli import main\n"
            "for model in ('digits', 'digits_no_ema'):\n"
            "    main(['sample', model, f'out/{model}', '--nfe', '2', '--n', '4', '--batch-size', '4',\n"
            "          '--extractor', 'digits-cnn'])\n")  # models.toml, the DDPMs' and the CNN's weights
    run = subprocess.run([python, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert run.returncode == 0, run.stderr[-3000:]
    paper_rows, published_rows = map(int, run.stdout.split()[:2])
    assert paper_rows > 0 and published_rows > 0
    assert all((tmp_path / f"out/{model}/stats.npz").exists() for model in ("digits", "digits_no_ema"))
