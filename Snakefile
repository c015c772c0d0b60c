# ddim-eval: from data to the DDIM paper's tables. `snakemake -c all` runs the demo world (config/config.yaml);
# `snakemake -c all --configfile config/<other>.yaml` runs another grid.
import os


# The demo config, found beside this file from any working directory; --configfile merges over it.
configfile: os.path.join(workflow.basedir, "config", "config.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/cells.smk"
include: "workflow/rules/measurements.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/report.smk"


report: "workflow/report/workflow.rst"


rule all:
    default_target: True
    input:
        rules.summary.output,
