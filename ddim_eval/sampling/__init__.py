"""Sampling: noise schedules, time grids and their spacings, and the samplers over them: the DDIM family (eq. 12
with eta, the official sigma-hat update, inversion and slerp), the samplers that followed DDIM (a family per
module), their registry, and an exact Gaussian-mixture oracle.

Names load on first use (lazy_loader), so the workflow's DAG build reads schedules, grids and the registry without
torch.
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["oracle"],
    submod_attrs={
        "common": ["EpsModel", "eval_eps", "phis", "predict_x0"],
        "ddim": ["ENCODE_LABELS", "Trajectory", "ddim_sampler", "ddim_step", "encode", "sample",
                 "sigma_hat_sampler", "sigma_hat_step", "slerp"],
        "ddim_steps": ["ddim_sigma", "generative_steps", "sigma_hat"],
        "dpm": ["dpm_solver", "dpm_solver_pp"],
        "karras": ["euler", "heun"],
        "pndm": ["fpndm", "plms"],
        "run": ["SamplerRun", "prepare"],
        "samplers": ["SAMPLERS", "SIGMA_HAT", "Param", "Plan", "SamplerDef", "SamplerSpec", "sampler_spec"],
        "schedule": ["alphas_cumprod", "linear_betas", "make_alphas_cumprod"],
        "tab_deis": ["deis"],
        "times": ["CONTINUOUS_SPACINGS", "DISCRETE_SPACINGS", "KARRAS_SPACINGS", "Node", "TimeGrid",
                  "continuous_grid", "describe_timesteps", "discrete_grid", "karras_grid", "nodes", "time_grid",
                  "timesteps"],
        "uni_pc": ["unipc"],
    },
)
