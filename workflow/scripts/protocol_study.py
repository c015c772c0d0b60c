# Thin: the library measures each deviation from the paper's protocol and writes the record, table and figure.
from contextlib import redirect_stderr

from ddim_eval.experiment.cells import run_dir
from ddim_eval.experiment.protocol_study import protocol_study
from ddim_eval.report.protocol import write_protocol

config, params = snakemake.config, snakemake.params  # noqa: F821
with open(snakemake.log[0], "w") as log, redirect_stderr(log):  # noqa: F821
    study = protocol_study(config, run_dir(config), device=params.device, batch_size=params.batch,
                           weights_path=params.weights, raw_files=snakemake.input.raw)  # noqa: F821
    write_protocol(study, snakemake.output)  # noqa: F821
