"""Running the workflow in the tests: a copy of the checkout under a folder whose name holds a space, the small
grid's config, and a run of it that sees only what `pip install -e .` installs (helpers.main_install_env)."""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

from helpers import ROOT, main_install_env

# Every run here goes through a copy of the checkout's workflow, profiles and configs under a folder whose name holds
# a space (the rules' script, schema, report and environment paths must survive it); the package is the installed
# one.
CHECKOUT = Path(tempfile.mkdtemp(prefix="ddim-eval-tests-")) / "my checkout"
for _part in ("workflow", "profiles", "config"):
    shutil.copytree(ROOT / _part, CHECKOUT / _part)
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(CHECKOUT / "workflow/Snakefile")]
TEST_DIR = ROOT / ".test"  # the small grid that users run too: its config and a user's sampler module
SMALL = yaml.safe_load((TEST_DIR / "config/config.yaml").read_text())


def _command(workdir: Path, config: dict, args: tuple[str, ...]) -> list[str]:
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    shutil.copy(TEST_DIR / "user_sampler.py", workdir)
    return [*SNAKEMAKE, "--directory", str(workdir), "--configfile", str(path), "-c", "2", *args]


def snakemake(workdir: Path, config: dict, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the workflow in `workdir` with `config`, beside the user's sampler module as in .test/ (the working
    directory is where jobs and the DAG build import it from)."""
    return subprocess.run(_command(workdir, config, args), capture_output=True, text=True,
                          env=main_install_env() | (env or {}))


def start_snakemake(workdir: Path, config: dict, *args: str, env: dict | None = None) -> subprocess.Popen:
    """`snakemake` started in the background, its output (stdout and stderr) going to `workdir/snakemake.log`."""
    command = _command(workdir, config, args)
    with open(workdir / "snakemake.log", "w") as log:
        return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, text=True,
                                env=main_install_env() | (env or {}))


def job_counts(output: str) -> dict[str, int]:
    lines = output[output.index("Job stats:"):].splitlines()[3:]
    counts = {}
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


def spaced_config(workdir: Path) -> dict:
    """The small grid's config with its cache and the extractor's weights under folders named with spaces."""
    weights = str(workdir / "my weights/digits cnn.safetensors")
    return SMALL | {"checkpoint_cache": "my cache", "extractor": SMALL["extractor"] | {"weights_path": weights}}
