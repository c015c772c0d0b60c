# Thin: the library writes the run's Markdown summary from its tables and figures.
from ddim_eval.experiment.cells import run_dir
from ddim_eval.report.summary import write_summary

write_summary(snakemake.config, run_dir(snakemake.config), snakemake.output[0])  # noqa: F821
