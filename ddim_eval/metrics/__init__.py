"""Metrics: torch-fidelity feature extractors (and the demo's digits CNN), streamed float64 feature statistics,
the Frechet distance, FID and KID, DDIM reconstruction error (Table 2) and sampling time (Figure 4).

Names load on first use (lazy_loader).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["digits_cnn"],
    submod_attrs={
        "distances": ["fid", "frechet_distance", "kid"],
        "extractors": ["INCEPTION", "Extractor", "fetch_inception_weights", "load_extractor"],
        "features": ["batches", "extract", "load_features", "save_feature_set", "save_features"],
        "reconstruction": ["reconstruction_errors", "summarize"],
        "stats": ["FeatureStats", "check_compatible", "from_features", "load_stats", "merge", "merge_all",
                  "save_stats"],
        "timing": ["FIGURE4_IMAGES", "time_sampling", "timed_sample", "timing_record"],
    },
)
