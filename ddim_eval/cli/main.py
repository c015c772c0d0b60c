"""`ddim-eval`: the command line of the library. Each group of commands lives in its own module and registers its
parsers; `main` parses, claims the device a command asks for, and turns expected failures into one-line errors."""

from __future__ import annotations

import argparse
import pickle
import sys

from ddim_eval.cli import data, demo, metrics, models, report, sample
from ddim_eval.cli.args import fast_path

GROUPS = (demo, sample, models, data, metrics, report)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ddim-eval", description="The DDIM reproduction suite's command line.")
    sub = p.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        if getattr(args, "device", None):
            from ddim_eval.experiment.devices import check_device, claim_device

            check_device(args.device)  # before any work: a job on a node without CUDA fails at once
            args.device = claim_device(args.device)
        if getattr(args, "precision", None):
            fast_path(args)  # before any work: refuses a combination such as CUDA graphs without compile
        args.func(args)
    except (ValueError, KeyError, RuntimeError, OSError, ArithmeticError, pickle.UnpicklingError) as e:
        sys.exit(f"ddim-eval {args.command}: error: {e}")
