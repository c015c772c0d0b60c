"""Sampling: noise schedules and tau spacings, the samplers (eq. 12 with eta, the official sigma-hat update), DDIM
inversion and slerp, the variants the tables name, an exact Gaussian-mixture oracle, and diffusers peers; and the
samplers that followed DDIM as data: time grids, the registry, a family per module, and their convergence orders.

Names load on first use (lazy_loader), so the workflow's DAG build reads schedules and variants without torch.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["convergence", "oracle", "peers"],
    submod_attrs={
        "common": ["EpsModel", "eval_eps_at", "predict_x0"],
        "deis": ["deis"],
        "dpm_solver": ["dpm_solver", "dpm_solver_pp"],
        "karras": ["euler", "heun"],
        "pndm": ["fpndm", "plms"],
        "run": ["SamplerRun", "paper_run", "prepare"],
        "samplers": ["SAMPLERS", "Param", "Plan", "SamplerDef", "SamplerSpec", "sampler_spec"],
        "times": ["TimeGrid", "time_grid"],
        "unipc": ["unipc"],
        "ddim": ["ddim_sigma", "ddim_step"],
        "ddpm": ["sigma_hat", "sigma_hat_step"],
        "latent": ["ENCODE_LABELS", "encode", "slerp"],
        "sampler": ["Trajectory", "ddim_sampler", "sample", "sigma_hat_sampler"],
        "schedule": ["SPACINGS", "alphas_cumprod", "describe_timesteps", "linear_betas", "make_alphas_cumprod",
                     "timesteps"],
        "variants": ["SIGMA_HAT", "Eta", "check_eta", "parse_variant", "variant_label"],
    },
)
