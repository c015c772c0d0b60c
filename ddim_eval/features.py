"""Moved to ddim_eval.metrics.extractors and .features: an old import path, kept for existing scripts."""

from ddim_eval.metrics.extractors import INCEPTION, Extractor, load_extractor
from ddim_eval.metrics.features import batches, extract, load_features, save_feature_set, save_features

__all__ = [
    "Extractor",
    "INCEPTION",
    "batches",
    "extract",
    "load_extractor",
    "load_features",
    "save_feature_set",
    "save_features",
]
