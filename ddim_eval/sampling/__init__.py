"""Sampling: noise schedules and tau spacings, the samplers (eq. 12 with eta, the official sigma-hat update), DDIM
inversion and slerp, the variants the tables name, an exact Gaussian-mixture oracle, and diffusers peers.

Names load on first use (lazy_loader), so the workflow's DAG build reads schedules and variants without torch.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["oracle", "peers"],
    submod_attrs={
        "common": ["EpsModel", "predict_x0"],
        "ddim": ["ddim_sigma", "ddim_step"],
        "ddpm": ["sigma_hat", "sigma_hat_step"],
        "latent": ["ENCODE_LABELS", "encode", "slerp"],
        "sampler": ["Trajectory", "sample"],
        "schedule": ["SPACINGS", "alphas_cumprod", "describe_timesteps", "linear_betas", "make_alphas_cumprod",
                     "timesteps"],
        "variants": ["SIGMA_HAT", "Eta", "check_eta", "parse_variant", "variant_label"],
    },
)
