# Thin: the library builds the sampler study's table from the run's result files.
from ddim_eval.experiment.cells import run_dir
from ddim_eval.report.sampler_study import collect_study, write_study

write_study(collect_study(snakemake.config, run_dir(snakemake.config)), snakemake.output)  # noqa: F821
