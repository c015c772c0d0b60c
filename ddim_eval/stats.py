"""Moved to ddim_eval.metrics.stats: an old import path, kept for existing scripts."""

from ddim_eval.metrics.stats import (
    FeatureStats,
    check_compatible,
    from_features,
    load_stats,
    merge,
    merge_all,
    save_stats,
)

__all__ = ["FeatureStats", "check_compatible", "from_features", "load_stats", "merge", "merge_all", "save_stats"]
