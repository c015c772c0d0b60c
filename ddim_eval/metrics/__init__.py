"""Metrics: torch-fidelity feature extractors (and the demo's digits CNN), streamed float64 feature statistics, the
Frechet distance, FID and KID, bootstrap intervals (FID of resampled features, FID_inf, paired differences, their
measured coverage), the protocol study's deviations (JPEG storage, reference subsets, nested sample counts),
precision / recall, DDIM reconstruction error (Table 2) and sampling time (Figure 4).

Names load on first use (lazy_loader).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["digits_cnn"],
    submod_attrs={
        "bootstrap": ["METHOD", "Replicated", "check_level", "check_n_boot", "interval", "paired_difference",
                      "replicated", "resample_counts", "unpaired_difference"],
        "distances": ["fid", "frechet_distance", "kid"],
        "extractors": ["Extractor", "fetch_inception_weights", "load_extractor", "save_random_inception"],
        "features": ["batches", "extract", "load_feature_rows", "load_features", "save_feature_set", "save_features",
                     "save_reference_set"],
        "fid_bootstrap": ["fid_replicates", "weighted_fid"],
        "fid_infinity": ["extrapolate", "fid_infinity", "subset_sizes"],
        "kid_bootstrap": ["kid_replicates"],
        "protocol": ["fid_resampled", "jpeg_roundtrip", "nested_counts", "reference_subset"],
        "reconstruction": ["reconstruction_errors", "summarize"],
        "scores": ["IntervalOptions", "precision_recall", "score_cell"],
        "stats": ["INCEPTION", "FeatureStats", "check_compatible", "from_features", "load_stats", "merge", "merge_all",
                  "save_stats"],
        "timing": ["FIGURE4_IMAGES", "time_sampling", "timed_sample", "timing_record"],
    },
)
