"""Moved to ddim_eval.sampling.oracle: an old import path, kept for existing scripts."""

from ddim_eval.sampling.oracle import (
    GaussianMixture,
    demo_mixture,
    mixture_eps_model,
    moment_errors,
    oracle_sweep,
    sample_mixture,
)

__all__ = ["GaussianMixture", "demo_mixture", "mixture_eps_model", "moment_errors", "oracle_sweep", "sample_mixture"]
