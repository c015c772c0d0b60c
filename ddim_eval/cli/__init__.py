"""The `ddim-eval` command line: `main`, and one module per group of commands (demo, sample, models, data,
metrics, report)."""

from ddim_eval.cli.main import main

__all__ = ["main"]
