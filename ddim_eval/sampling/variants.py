"""Sampler variants, as the paper's tables name them: an eta value of eq. 12, or the named update sigma_hat.

Light on purpose (no torch): the workflow's DAG build labels cells with it.
"""

from __future__ import annotations

import math

SIGMA_HAT = "sigma_hat"
Eta = float | str  # a float >= 0, or SIGMA_HAT


def check_eta(eta: Eta) -> Eta:
    """`eta` as a float, or SIGMA_HAT; ValueError for anything else."""
    if eta == SIGMA_HAT:
        return eta
    if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not math.isfinite(eta) or eta < 0:
        raise ValueError(f"eta must be a finite number >= 0 or {SIGMA_HAT!r}, got {eta!r}")
    return float(eta)


def variant_label(variant: Eta) -> str:
    """A cell's variant label: `"eta=<float>"` or `"sigma_hat"`."""
    return SIGMA_HAT if variant == SIGMA_HAT else f"eta={float(variant)}"


def parse_variant(label: str) -> Eta:
    if label == SIGMA_HAT:
        return SIGMA_HAT
    if not label.startswith("eta="):
        raise ValueError(f"variant {label!r} is neither 'eta=<number>' nor {SIGMA_HAT!r}")
    return float(label.removeprefix("eta="))
