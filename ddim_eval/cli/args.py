"""What several commands share: argument types and groups, and building a model's network from them."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from ddim_eval.models.fastpath import PRECISIONS
from ddim_eval.sampling.samplers import SIGMA_HAT

if TYPE_CHECKING:  # the command line imports torch only in the commands that use it
    from ddim_eval.metrics.extractors import Extractor
    from ddim_eval.models.fastpath import FastPath
    from ddim_eval.models.registry import ModelSpec
    from ddim_eval.sampling.common import EpsModel
    from ddim_eval.sampling.run import SamplerRun

AUTO = "auto"


def parse_eta(text: str) -> float | str:
    """An --eta value: a finite number >= 0, or sigma_hat (the official update); a usage error otherwise."""
    if text == SIGMA_HAT:
        return text
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an eta; allowed: a number >= 0 or {SIGMA_HAT!r}")
    return value


def _at_least(name: str, minimum: int, why: str = "") -> Callable[[str], int]:
    """An argparse type: an integer >= `minimum`, refused before any work (`why` says what the bound is for;
    `name` is how argparse calls a value that is no integer: "invalid <name> value")."""
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}{f' ({why})' if why else ''}, got {value}")
        return value
    parse.__name__ = name
    return parse


count = _at_least("count", 0)  # a shard index, warm-up runs
positive = _at_least("positive", 1)  # a number of steps, evaluations, repeats
sample_count = _at_least("sample_count", 2, "a covariance needs two samples")  # samples whose statistics are written


def parse_batch_size(text: str) -> int | str:
    """A --batch-size value: a positive integer, or auto."""
    if text == AUTO:
        return text
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a positive integer nor {AUTO!r}")
    return int(text)


def device(text: str) -> str:
    """A --device value (auto, cpu, cuda, cuda:<index>, mps), refused as a usage error before any work."""
    from ddim_eval.experiment.devices import check_device_name

    try:
        return check_device_name(text, "--device")
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--device: ")) from None


def add_device_arg(p: argparse.ArgumentParser, what: str = "the torch device") -> None:
    p.add_argument("--device", type=device, default="auto",
                   help=f"{what}: auto (cuda where a GPU is visible, else cpu), cpu, cuda, cuda:<index> or mps")


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spacing", default=None,
                   help="the time grid's spacing (discrete: linear, quadratic, trailing, logSNR; continuous: "
                        "time_uniform, time_quadratic, logSNR; karras); default: the sampler's, else the model's paper "
                        "one")
    p.add_argument("--batch-size", type=parse_batch_size, default=256,
                   help="images per batch, or auto: the largest batch that raises throughput, measured once per "
                        "device, network and fast path, and cached")
    add_device_arg(p)
    p.add_argument("--cache-dir", default=None, help="checkpoint cache (default: $DDIM_EVAL_CACHE)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading a missing checkpoint")
    p.add_argument("--random-weights", action="store_true",
                   help="the model's architecture with random weights (seeded: the same in every job) instead of its "
                        "checkpoint: for timings and dress rehearsals, where speed, not the samples, matters")
    fast = p.add_argument_group("fast path (how the network runs; the samplers' math is unchanged)")
    fast.add_argument("--precision", choices=PRECISIONS, default="fp32",
                      help="fp32 (strict), tf32 (CUDA), bf16 or fp16 (autocast; x_t stays float32)")
    fast.add_argument("--channels-last", action="store_true", help="channels_last memory format")
    fast.add_argument("--compile", action="store_true", help="torch.compile (inductor), one fixed batch shape")
    fast.add_argument("--cuda-graphs", action="store_true", help="CUDA graphs (compile's reduce-overhead mode)")


def add_extractor_args(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """--extractor, --layer, --weights-path; without a `default`, the extractor follows the model (`extractor`)."""
    follows = " (default: the model's: digits-cnn for digits, else inception-v3-compat)"
    p.add_argument("--extractor", default=default,
                   help="a torch-fidelity feature extractor name" + ("" if default else follows))
    p.add_argument("--layer", default=None, help="feature layer (default: the extractor's FID layer)")
    p.add_argument("--weights-path", default=None, help="local extractor weights (feature_extractor_weights_path)")


def add_interval_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--level", type=float, default=0.95, help="interval level, in (0, 1)")
    p.add_argument("--n-boot", type=int, default=200, help="bootstrap resamples (>= 2)")
    p.add_argument("--seed", type=int, default=0,
                   help="bootstrap seed; cells compared pairwise must share it (and their n)")


def fast_path(args: argparse.Namespace) -> FastPath:
    """The fast path the command line asks for (ValueError for a combination it refuses)."""
    from ddim_eval.models.fastpath import FastPath

    return FastPath(args.precision, args.channels_last, args.compile, args.cuda_graphs)


def extractor(args: argparse.Namespace, spec: ModelSpec | None = None) -> Extractor:
    """The feature extractor the arguments of `add_extractor_args` name, else `spec`'s, on --device."""
    from ddim_eval.metrics.extractors import load_extractor
    from ddim_eval.metrics.stats import INCEPTION

    name = args.extractor or (spec.extractor if spec else None) or INCEPTION
    return load_extractor(name, args.layer, args.weights_path, args.device)


class Network(NamedTuple):
    """A model's network as the commands run it."""

    eps: EpsModel
    batch_size: int
    fast: FastPath  # the options that apply on the device


def network(args: argparse.Namespace, spec: ModelSpec) -> Network:
    """`spec`'s network on --device, run the --precision/--channels-last/--compile/--cuda-graphs way, with its
    --batch-size (measured and cached for auto): its checkpoint's weights, or with --random-weights random ones."""
    from dataclasses import replace

    import torch

    from ddim_eval.models.batch_size import batch_size_key, cached_batch_size, measure_batch_size
    from ddim_eval.models.checkpoints import load_unet
    from ddim_eval.models.fastpath import fast_eps_model

    if args.random_weights:
        from diffusers import UNet2DModel

        with torch.random.fork_rng(devices=[]):  # seeded without touching the caller's random state
            torch.manual_seed(0)
            unet = UNet2DModel(**spec.unet_config()).to(args.device)
    else:
        unet = load_unet(spec, args.cache_dir, device=args.device, allow_download=not args.no_download)
    wanted = fast_path(args)
    batch_size = args.batch_size
    if batch_size == AUTO:
        # Measured eagerly (compiling every candidate would cost minutes): compile and CUDA graphs lower the time
        # per batch but not where throughput saturates. Keyed without them, so that compiled and eager runs share
        # a batch, and with it the stochastic variants' noise.
        eager, applied, _ = fast_eps_model(unet, replace(wanted, compile=False, cuda_graphs=False), device=args.device)
        key = batch_size_key(args.device, spec.name, applied.label)
        max_batch = 1024 if torch.device(args.device).type == "cuda" else 64
        measure = lambda: measure_batch_size(eager, spec.image_shape, args.device, max_batch=max_batch)  # noqa: E731
        batch_size = cached_batch_size(key, measure)["batch_size"]
        print(f"batch size {batch_size} ({key})", file=sys.stderr)
    eps, applied, notes = fast_eps_model(unet, wanted, batch_size=batch_size, device=args.device)
    for note in notes:
        print(f"fast path: {note}", file=sys.stderr)
    return Network(eps, batch_size, applied)


def add_sampler_args(p: argparse.ArgumentParser) -> None:
    """What to sample: a sampler (registered or the user's) with an NFE budget; the paper's cells are DDIM's."""
    what = p.add_argument_group("sampler")
    what.add_argument("--nfe", type=positive, required=True,
                      help="the budget of network evaluations per image (DDIM and the paper's tables: S, the steps)")
    what.add_argument("--sampler", default="ddim",
                      help="a registered name (ddim, sigma_hat, plms, fpndm, dpm_solver, dpm_solver_pp, unipc, deis, "
                           "euler, heun) or a config entry in YAML, e.g. '{name: ddim, params: {eta: 1.0}}', "
                           "'{name: unipc, params: {order: 3}}' or '{function: my.module:sampler, grid: continuous}'; "
                           "default ddim (eta = 0)")


def cell_run(args: argparse.Namespace, spec: ModelSpec) -> SamplerRun:
    """The sampler run the arguments of `add_sampler_args` name, on `spec`'s schedule (ValueError naming a bad
    sampler or budget)."""
    import yaml

    from ddim_eval.sampling.run import prepare

    try:
        entry = yaml.safe_load(args.sampler)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at column {mark.column + 1}" if mark else ""
        raise ValueError(f"--sampler {args.sampler!r} is not valid YAML: {getattr(e, 'problem', e)}{where}") from None
    if not isinstance(entry, str | dict):
        raise ValueError(f"--sampler {args.sampler!r} is neither a name nor a mapping (name: ..., params: ...)")
    entry = dict(entry) if isinstance(entry, dict) else {"name": entry}
    if args.spacing:
        entry["spacing"] = args.spacing
    return prepare(entry, args.nfe, spec.alphas_cumprod(), spec.spacing)
