# Thin: the library builds the tables from the run's result files.
from ddim_eval.experiment.cells import run_dir
from ddim_eval.report.tables import collect, write_tables

write_tables(collect(snakemake.config, run_dir(snakemake.config)), snakemake.output)  # noqa: F821
