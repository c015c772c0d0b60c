"""`ddim-eval`: the command line of the library. Each group of commands lives in its own module and registers its
parsers; `main` parses, claims the device a command asks for, and turns every failure into one line (a traceback
only with $DDIM_EVAL_DEBUG set). Exit codes: 2 for a usage error, 1 for any other error, 130 when interrupted."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from importlib.metadata import PackageNotFoundError, version

from ddim_eval.cli import config, data, demo, metrics, models, report, sample, score
from ddim_eval.cli.args import fast_path
from ddim_eval.io import check_output

GROUPS = (demo, sample, models, data, metrics, score, report, config)
DEBUG = "DDIM_EVAL_DEBUG"  # set (to anything) for the full traceback of an error
INTERRUPTED = 130  # the shell's code for a process stopped by Ctrl-C
OUTPUTS = ("out", "out_dir", "out_stem")  # the commands' output arguments (a file, a folder, a figure's stem)


class DefaultsFormatter(argparse.HelpFormatter):
    """Each option's default after its help, where it has one the help does not already name."""

    def _get_help_string(self, action: argparse.Action) -> str:
        help_ = action.help or ""
        shown = action.option_strings and not any(action.default is v for v in (None, False, argparse.SUPPRESS))
        return f"{help_} (default: %(default)s)".strip() if shown and "default" not in help_ else help_


class Parser(argparse.ArgumentParser):
    """Shows each option's default in --help, and suggests the nearest choice for a misspelled command."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        choices = [a.choices for a in self._actions if isinstance(a, argparse._SubParsersAction)]
        if choices and "invalid choice" in message:
            word = message.split("'")[1] if message.count("'") >= 2 else ""
            near = difflib.get_close_matches(word, list(choices[0]), n=1)
            message += f"; did you mean {near[0]!r}?" if near else ""
        super().error(message)


def _version() -> str:
    try:
        return version("ddim-eval")
    except PackageNotFoundError:
        return "unknown (not installed)"


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="ddim-eval", description="The DDIM reproduction suite's command line.")
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    for group in GROUPS:
        group.register(sub)
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        if getattr(args, "device", None):
            from ddim_eval.experiment.devices import check_device, claim_device, resolve_device

            args.device = resolve_device(args.device)
            check_device(args.device)  # before any work: a job on a node without CUDA fails at once
            args.device = claim_device(args.device)
        if getattr(args, "precision", None):
            fast_path(args)  # before any work: refuses a combination such as CUDA graphs without compile
        for name in OUTPUTS:  # before any work: an output inside the package, in a read-only folder, on a folder
            if getattr(args, name, None):
                check_output(getattr(args, name), folder=name == "out_dir")
        args.func(args)
    except KeyboardInterrupt:
        print(f"ddim-eval {args.command}: interrupted; finished work is kept, and the same command resumes it "
              "(a sample shard after its last finished batch)", file=sys.stderr)
        sys.exit(INTERRUPTED)
    except Exception as e:  # noqa: BLE001 - every error is one line for the user; DDIM_EVAL_DEBUG shows the traceback
        if os.environ.get(DEBUG):
            raise
        expected = isinstance(e, (ValueError, KeyError, RuntimeError, OSError, ArithmeticError))
        message = e.args[0] if isinstance(e, KeyError) and e.args else str(e)  # a KeyError's str() adds quotes
        text = " ".join(line.strip() for line in str(message).splitlines() if line.strip())  # one line
        detail = text if expected else f"{type(e).__name__}: {text} (set {DEBUG}=1 for the traceback)"
        sys.exit(f"ddim-eval {args.command}: error: {detail}")
