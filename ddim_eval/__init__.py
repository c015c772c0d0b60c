"""ddim-eval: the science of the DDIM reproduction suite, in rooms by concern.

sampling (schedules, tau spacings, the samplers, inversion, slerp), models (the paper's networks, registry,
checkpoints), data (prepared splits, one module per source), metrics (features, statistics, FID/KID,
reconstruction, timing), grid (a config's cells and sharded generation), report (tables, summary, figures) and
cli (the `ddim-eval` command line).
"""
