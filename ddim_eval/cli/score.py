"""`score`: any sample set (a folder of PNG or JPEG images, an ADM-style .npz, an .npy array) scored under the
paper's protocol against a dataset's reference or a statistics file: FID with its interval, KID, and FID_inf and
precision / recall where asked; JSON, and one Markdown line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ddim_eval.cli.args import add_device_arg, count, positive
from ddim_eval.cli.config import SCHEMA

OPTIONS = ("intervals", "kid_subsets", "fid_infinity", "precision_recall")  # the config keys of what is measured


def _schema_defaults(schema: str) -> dict:
    """The metrics' options when the reference is a statistics file (with a dataset: its config's): the defaults of
    the workflow's schema."""
    import yaml

    properties = yaml.safe_load(Path(schema).read_text())["properties"]
    return {key: properties[key]["default"] for key in OPTIONS}


def _options(args: argparse.Namespace, base: dict) -> dict:
    """The config's (or the defaults') metric options with those given on the command line over them."""
    intervals = base["intervals"] | {k: v for k, v in (("level", args.level), ("n_boot", args.n_boot),
                                                        ("seed", args.seed)) if v is not None}
    kid_subsets = base["kid_subsets"] if args.kid_subsets is None else args.kid_subsets
    return {"intervals": intervals, "kid_subsets": kid_subsets,
            "fid_infinity": base["fid_infinity"] or args.fid_infinity,
            "precision_recall": base["precision_recall"] or args.precision_recall}


def _interval(record: dict, metric: str) -> str:
    return f"{record[metric]:.2f} [{record[f'{metric}_ci_low']:.2f}, {record[f'{metric}_ci_high']:.2f}]"


def markdown_line(record: dict) -> str:
    """The record in one Markdown line: the metrics with their intervals, then what they were measured against."""
    parts = [f"FID {_interval(record, 'fid')}"]
    if "fid_inf" in record:
        parts.append(f"FID_inf {_interval(record, 'fid_inf')}")
    if "kid_all_pairs" in record:
        low, high = record["kid_all_pairs_ci_low"], record["kid_all_pairs_ci_high"]
        parts.append(f"KID {record['kid_all_pairs']:.4g} [{low:.4g}, {high:.4g}]")
    if "precision" in record:
        parts.append(f"precision {record['precision']:.3f}, recall {record['recall']:.3f}")
    protocol = record["protocol"]
    return (f"**{record['samples']}**: {', '.join(parts)} ({record['ci_level']:.0%} intervals); n = {record['n']} "
            f"against {protocol['reference']}; {protocol['extractor']}")


def _score(args: argparse.Namespace) -> None:
    from ddim_eval.data.sample_sets import open_sample_set
    from ddim_eval.experiment import check_config_file
    from ddim_eval.experiment.score import dataset_reference, file_reference, score_samples
    from ddim_eval.io import save_json

    samples = open_sample_set(args.samples)  # a bad sample set is refused before anything loads
    if Path(args.reference).suffix == ".npz" or Path(args.reference).is_file():
        reference, base, weights = file_reference(args.reference), _schema_defaults(args.schema), args.weights_path
    else:
        if not Path(args.config).is_file():
            raise ValueError(f"--reference {args.reference!r} names a dataset of a workflow config, and the config "
                             f"{args.config} does not exist; give --config, or a statistics file as --reference")
        sys.path.insert(0, str(Path.cwd()))  # a study's sampler module may sit here, as the workflow finds it
        config = check_config_file(args.config, args.schema)
        reference = dataset_reference(config, args.config, args.reference, device=args.device,
                                      batch_size=args.batch_size)
        base, weights = config, args.weights_path or config["extractor"].get("weights_path")
    print(f"{args.samples}: {samples.n} images, {samples.found}", file=sys.stderr)
    record = score_samples(samples, reference, extractor_weights=weights, options=_options(args, base),
                           device=args.device, batch_size=args.batch_size)
    save_json(args.out, record)
    print(markdown_line(record))
    print(f"wrote {args.out}", file=sys.stderr)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("score", help="score any sample set (images folder, .npz, .npy) against a dataset's "
                       "reference or a statistics file", description=__doc__)
    p.add_argument("samples", help="a folder of PNG or JPEG images, an .npz (arr_0: uint8 NHWC, as guided-diffusion "
                   "saves samples) or an .npy (NCHW or NHWC; uint8, or float in [0, 1] or [-1, 1])")
    p.add_argument("--reference", required=True,
                   help="a dataset of --config (its reference split's statistics, computed when missing) or a "
                        "statistics file (stats.npz; a features.npz beside it adds KID and precision / recall)")
    p.add_argument("--config", default="config/config.yaml",
                   help="the workflow config whose dataset --reference names; it also sets the extractor, the "
                        "intervals and which metrics (default: the demo world's)")
    p.add_argument("--schema", default=str(SCHEMA), help="the workflow's JSON schema")
    p.add_argument("--out", default="score.json", help="the JSON record")
    p.add_argument("--weights-path", default=None, help="local extractor weights (else the config's or "
                   "torch-fidelity's download)")
    p.add_argument("--batch-size", type=positive, default=256)
    p.add_argument("--level", type=float, default=None, help="interval level (default: the config's, else 0.95)")
    p.add_argument("--n-boot", type=int, default=None, help="bootstrap resamples (default: the config's, else 200)")
    p.add_argument("--seed", type=int, default=None, help="bootstrap seed (default: the config's, else 0)")
    p.add_argument("--kid-subsets", type=count, default=None, help="torch-fidelity KID subsets (0: none)")
    p.add_argument("--fid-infinity", action="store_true", help="also FID_inf (also where the config asks)")
    p.add_argument("--precision-recall", action="store_true", help="also precision and recall (also where the "
                   "config asks; needs the reference's features)")
    add_device_arg(p)
    p.set_defaults(func=_score)
