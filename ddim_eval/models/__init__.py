"""Models: the paper's networks as `UNet2DModel` (official config -> diffusers arguments, the checkpoint
converter), the registry of models (`models.toml`), checkpoint fetching and safe loading, DDPM training, and the
demo world's shipped weights (`weights/`).

Names load on first use (lazy_loader), so the workflow's DAG build reads the registry without torch.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submod_attrs={
        "checkpoints": ["CheckpointError", "fetch_checkpoint", "load_official_state_dict", "load_safetensors",
                        "load_unet"],
        "convert": ["convert_official_state_dict", "load_official_weights", "strip_data_parallel"],
        "batch_size": ["batch_size_key", "cached_batch_size", "measure_batch_size"],
        "fastpath": ["PRECISIONS", "FastPath", "fast_eps_model", "fixed_batch", "resolve"],
        "registry": ["DEFAULT_REGISTRY", "ModelSpec", "get_model_spec", "load_registry"],
        "train": ["save_weights", "train_ddpm"],
        "unet": ["build_unet", "eps_model_from_unet"],
        "unet_config": ["diffusers_config"],
    },
)
