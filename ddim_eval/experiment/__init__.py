"""The experiment: a workflow config's cells, shards, reconstructions and timings and the checks the schema cannot make;
sampling a cell's shard deterministically; scoring a user's sample set; the protocol study; which GPU a job claims;
the fast-path check; and the demo world run in one process.

Names load on first use (lazy_loader), so the workflow's DAG build reads the experiment without torch.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "cells": ["ALL_TABLES", "CELL_DIR", "COMPARED_TABLES", "DATA_PATH", "EXTERNAL_PATH", "FID_TABLES", "PREPARED",
                  "PROTOCOL_PATH", "RECON_PATH", "SOURCE_SPLITS", "TIMING_PATH", "Cell", "data_path", "external_sets",
                  "fast_path", "fid_cells", "max_images", "model_spec", "paper_cell", "paper_spec", "protocol_cells",
                  "protocol_inputs", "recon_runs", "reference_preparations", "resize_dataset", "run_dir",
                  "sampler_cells", "sampler_entries", "sampler_spacing", "shards", "spacing", "study_cells",
                  "study_inputs", "study_samplers", "table_inputs", "timing_runs"],
        "checks": ["check_config", "check_config_file", "check_extractor", "load_config"],
        "demo": ["run_demo"],
        "devices": ["check_device", "check_device_name", "claim_device", "claim_index", "release_all", "resolve_device",
                    "visible_gpus"],
        "fast_path_check": ["fast_path_check"],
        "generate": ["generate_cell", "initial_noise", "sample_shard", "shard_batches", "shard_seed"],
        "protocol_study": ["protocol_study"],
        "schema": ["schema_error"],
        "score": ["Reference", "dataset_reference", "file_reference", "score_samples"],
    },
)
