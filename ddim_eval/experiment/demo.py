"""The demo world end to end, in one process: the digits model's FID across S and eta, and its reconstruction error.

Every number goes through the same library calls the workflow uses (prepared arrays, reference statistics,
sharded cell sampling, streamed statistics, FID/KID, reconstruction). Its FID is digits-cnn FID: the Fréchet
distance in the demo CNN's feature space, not Inception FID.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ddim_eval.data import digits
from ddim_eval.data.arrays import load_images
from ddim_eval.experiment.generate import generate_cell
from ddim_eval.io import save_json
from ddim_eval.metrics.digits_cnn import NAME as DIGITS_CNN
from ddim_eval.metrics.distances import fid, kid
from ddim_eval.metrics.extractors import load_extractor
from ddim_eval.metrics.features import batches, extract
from ddim_eval.metrics.reconstruction import reconstruction_errors, summarize
from ddim_eval.metrics.stats import load_stats
from ddim_eval.models.checkpoints import load_unet
from ddim_eval.models.registry import get_model_spec
from ddim_eval.models.unet import eps_model_from_unet
from ddim_eval.sampling.ddim_steps import Eta
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.samplers import paper_entry
from ddim_eval.sampling.times import discrete_grid

MODEL = "digits"


def run_demo(out_dir: str | os.PathLike, *, steps: list[int], etas: list[Eta], n: int, recon_steps: list[int],
             spacing: str | None = None, shard: int = 0, batch_size: int = 500, progress: bool = False) -> dict:
    """Sample every (S, eta) cell with n images (x_T of shard `shard`) and score it against the train split;
    reconstruct the test split at each of `recon_steps`. Outputs of each cell land under out_dir. Returns
    {"fid": rows, "recon": rows, "test_split_fid": the held-out real images' FID against the same reference}."""
    out_dir = Path(out_dir)
    spec = get_model_spec(MODEL)
    spacing = spacing or spec.spacing
    alphas = spec.alphas_cumprod()
    eps_model = eps_model_from_unet(load_unet(spec))
    splits = digits.prepare(out_dir / "data")
    extractor = load_extractor(DIGITS_CNN)
    ref_features, ref_stats = extract(extractor, batches(load_images(splits["train"]), batch_size), progress=False)
    test = load_images(splits["test"])
    test_fid = fid(extract(extractor, batches(test, batch_size), progress=False)[1], ref_stats)
    fid_rows = []
    for s in steps:
        for eta in etas:
            cell = out_dir / f"S{s}_eta{eta}"
            timing = generate_cell(eps_model, MODEL, cell, shape=spec.image_shape,
                                   run=prepare(paper_entry(eta), s, alphas, spacing), n=n, shard=shard,
                                   extractor=extractor, batch_size=batch_size, progress=progress)
            stats = load_stats(cell / "stats.npz", extractor.name, extractor.layer)
            with np.load(cell / "features.npz") as z:
                scores = kid(z["features"], ref_features)
            fid_rows.append({"S": s, "eta": eta, "spacing": spacing, "n": n, "shard": shard,
                             "extractor": extractor.name, "fid": fid(stats, ref_stats), **scores,
                             "seconds_per_image_per_step": timing["seconds_per_image_per_step"]})
    recon_rows = [{"S": s, "spacing": spacing, **summarize(reconstruction_errors(
        eps_model, test, discrete_grid(alphas, s, spacing), batch_size=batch_size,
        progress=progress))} for s in recon_steps]
    result = {"fid": fid_rows, "recon": recon_rows, "test_split_fid": test_fid}
    save_json(out_dir / "demo.json", result)
    return result
