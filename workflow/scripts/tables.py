# Thin: the library builds the tables from the run's result files.
from ddim_eval.tables import collect, write_tables

write_tables(collect(snakemake.config, snakemake.params.out), snakemake.output)  # noqa: F821
