"""The README's first command, timed as a new user meets it: `snakemake -c all` in a fresh clone (no resources/ or
results/; the packages installed), and where its time goes, per rule, from Snakemake's own job records.

Each job's start and end come from `.snakemake/metadata/` (one record per output file, with the job's start and end
times). Job seconds add up to more than the wall time when jobs run side by side.

Usage: python benchmarks/first_command.py [--commit REV] [--out benchmarks/results/first_command_cpu-2core]
It writes OUT.json and OUT.md, and copies the demo's tables (the expected results the docs show) to
OUT_{table1,table2,timing,samplers,protocol}.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ddim_eval.io import save_json

ROOT = Path(__file__).resolve().parents[1]


def job_records(clone: Path) -> list[dict]:
    """One record per job (rule, start, end), from the metadata Snakemake keeps for each output file (a job's
    outputs share its hash; their start and end times differ by microseconds)."""
    jobs: dict[tuple, dict] = {}
    for path in (clone / ".snakemake/metadata").rglob("*"):
        if path.is_file():
            record = json.loads(path.read_text())
            job = jobs.setdefault((record["rule"], record["job_hash"]),
                                  {"rule": record["rule"], "start": record["starttime"], "end": record["endtime"]})
            job["start"], job["end"] = min(job["start"], record["starttime"]), max(job["end"], record["endtime"])
    return sorted(jobs.values(), key=lambda j: j["start"])


def per_rule(jobs: list[dict]) -> dict[str, dict]:
    rules: dict[str, dict] = {}
    for job in jobs:
        r = rules.setdefault(job["rule"], {"jobs": 0, "job_seconds": 0.0})
        r["jobs"] += 1
        r["job_seconds"] += job["end"] - job["start"]
    return dict(sorted(rules.items(), key=lambda item: -item[1]["job_seconds"]))


def markdown(result: dict) -> str:
    total = sum(r["job_seconds"] for r in result["rules"].values())
    lines = [f"`snakemake -c all` from a fresh clone at {result['commit'][:10]} on {result['machine']}: "
             f"{result['wall_seconds']:.0f} s wall ({result['wall_seconds'] / 60:.1f} min), {result['jobs']} jobs, "
             f"{result['cpu_seconds']:.0f} CPU seconds.",
             "", "| rule | jobs | job seconds | share | seconds per job |", "|---|---|---|---|---|"]
    for rule, r in result["rules"].items():
        lines.append(f"| {rule} | {r['jobs']} | {r['job_seconds']:.0f} | {r['job_seconds'] / total:.0%} | "
                     f"{r['job_seconds'] / r['jobs']:.1f} |")
    lines.append(f"| all jobs | {result['jobs']} | {total:.0f} | 100% | |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--commit", default="HEAD", help="the commit to clone (default: HEAD)")
    p.add_argument("--out", default=str(ROOT / "benchmarks/results/first_command_cpu-2core"),
                   help="output path without extension")
    p.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    args = p.parse_args()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", args.commit], capture_output=True, text=True,
                            check=True).stdout.strip()
    clone = Path(tempfile.mkdtemp(prefix="first-command-")) / "ddim-eval"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", commit], check=True)
    start = time.perf_counter()
    # The clone's own package: `python -m` puts the working directory first on sys.path, as for its jobs.
    run = subprocess.run([sys.executable, "-m", "snakemake", "-c", "all"], cwd=clone, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"snakemake -c all failed in {clone}:\n{run.stderr[-3000:]}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    jobs = job_records(clone)
    machine = f"{platform.machine()} CPU, {len(os.sched_getaffinity(0))} cores"
    result = {"commit": commit, "machine": machine, "wall_seconds": wall,
              "cpu_seconds": children.ru_utime + children.ru_stime, "jobs": len(jobs), "rules": per_rule(jobs)}
    out = Path(args.out)
    save_json(out.with_suffix(".json"), result)
    out.with_suffix(".md").write_text(markdown(result))
    for table in ("table1", "table2", "timing", "samplers", "protocol"):
        source = clone / f"results/demo/tables/{table}.md"
        if source.is_file():
            shutil.copy(source, f"{out}_{table}.md")
    print(markdown(result))
    if args.keep:
        print(f"clone kept: {clone}")
    else:
        shutil.rmtree(clone.parent)


if __name__ == "__main__":
    main()
