# Table 2 (reconstruction error per S) and Figure 4 (sampling time per S).


rule reconstruct:
    input:
        split=lambda wc: dataset_split(wc.dataset, config["datasets"][wc.dataset]["recon_split"]),
        checkpoint=checkpoint,
    output:
        results(experiment.RECON_PATH),
    log:
        results("logs/reconstruct/{dataset}/{spacing}/S{steps}.log"),
    benchmark:
        results("benchmarks/reconstruct/{dataset}/{spacing}/S{steps}.tsv")
    conda:
        ENV
    resources:
        gpu=GPU,
    params:
        cli=DDIM_EVAL,
        model=model,
        n=f"--n {config['table2']['n']}" if config["table2"].get("n") else "",
        intervals=interval_args(),
        device=DEVICE,
        batch=sampling_batch,
        fast=fast_path_args(),
        random_weights=random_weights_args,
    shell:
        "{params.cli} reconstruct {params.model} {input.split:q} {output:q} --steps {wildcards.steps} "
        "--spacing {wildcards.spacing} {params.n} {params.intervals} --device {params.device} "
        "--batch-size {params.batch} {params.fast} {params.random_weights} > {log:q} 2>&1"


rule timing:
    input:
        checkpoint=checkpoint,
    output:
        results(experiment.TIMING_PATH),
    log:
        results("logs/timing/{dataset}/{spacing}/S{steps}.log"),
    conda:
        ENV
    # Alone on the machine: a timing shared with other jobs measures them too. Where no cores are given
    # (`snakemake --report`, which runs no job), 1.
    threads: workflow._cores or 1
    resources:
        gpu=GPU,
    params:
        cli=DDIM_EVAL,
        model=model,
        device=DEVICE,
        batch=config["timing"].get("batch_size", 256),
        repeats=config["timing"].get("repeats", 3),
        fast=fast_path_args(),
        random_weights=random_weights_args,
    shell:
        "{params.cli} time {params.model} {output:q} --nfe {wildcards.steps} --spacing {wildcards.spacing} "
        "--device {params.device} --batch-size {params.batch} --repeats {params.repeats} {params.fast} {params.random_weights} > {log:q} 2>&1"
