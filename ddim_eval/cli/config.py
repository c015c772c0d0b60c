"""`check-config`: a workflow config checked as the DAG build checks it, without Snakemake's traceback for a YAML
syntax error, and a summary of what it plans."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# The workflow's schema in the checkout this package is installed from (an editable install, as the README's).
SCHEMA = Path(__file__).resolve().parents[2] / "workflow/schemas/config.schema.yaml"


def _check_config(args: argparse.Namespace) -> None:
    from ddim_eval import experiment

    # A user's sampler module may sit in the working directory, where the workflow's DAG build imports it from.
    sys.path.insert(0, os.getcwd())
    if not Path(args.schema).is_file():
        raise ValueError(f"the workflow's schema {args.schema} does not exist; run from the checkout or pass --schema")
    config = experiment.check_config_file(args.config, args.schema)
    cells = experiment.fid_cells(config) + experiment.sampler_cells(config)
    cells += list(experiment.protocol_cells(config).values())
    extras = [f"{len(experiment.external_sets(config))} sample set(s) of yours"] * bool(config["external"])
    extras += ["a protocol study"] * bool(config.get("protocol_study"))
    print(f"{args.config}: valid; run {config['run']!r}: {len(set(cells))} cells of {len(experiment.shards(config))} "
          f"shard(s) each, {config['n_samples']} samples per cell, device {config['device']}"
          + "".join(f", {extra}" for extra in extras))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("check-config", help="check a workflow config as the DAG build does; name the line of a "
                       "YAML error")
    p.add_argument("config", help="the config file (what `snakemake --configfile` takes)")
    p.add_argument("--schema", default=str(SCHEMA), help="the workflow's JSON schema")
    p.set_defaults(func=_check_config)
