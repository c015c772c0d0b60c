"""ddim-eval: the science of the DDIM reproduction suite (schedules, samplers, inversion, paper networks)."""
