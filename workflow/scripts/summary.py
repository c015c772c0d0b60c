# Thin: the library writes the run's Markdown summary from its tables and figures.
from ddim_eval.summary import write_summary

write_summary(snakemake.config, snakemake.params.out, snakemake.output[0])  # noqa: F821
