# FID cells: reference statistics of the real split, samples in shards, merged statistics and FID/KID per cell.


rule reference_stats:
    input:
        split=lambda wc: dataset_split(wc.dataset, wc.split),
        weights=EXTRACTOR_WEIGHTS or [],
    output:
        stats=results("reference/{dataset}-{split}/stats.npz"),
        features=results("reference/{dataset}-{split}/features.npz"),
    log:
        results("logs/reference_stats/{dataset}-{split}.log"),
    benchmark:
        results("benchmarks/reference_stats/{dataset}-{split}.tsv")
    conda:
        ENV
    resources:
        gpu=GPU,
    params:
        cli=DDIM_EVAL,
        extractor=extractor_args(),
        device=DEVICE,
        batch=FEATURE_BATCH,
    shell:
        '{params.cli} reference-stats {input.split:q} "$(dirname {output.stats:q})" {params.extractor} '
        "--device {params.device} --batch-size {params.batch} > {log:q} 2>&1"


rule sample_shard:
    input:
        checkpoint=checkpoint,
        weights=EXTRACTOR_WEIGHTS or [],
    output:
        stats=results(experiment.CELL_DIR, "shard{shard}/stats.npz"),
        features=results(experiment.CELL_DIR, "shard{shard}/features.npz"),
        timing=results(experiment.CELL_DIR, "shard{shard}/timing.json"),
    log:
        results("logs/sample/{dataset}/{spacing}/NFE{budget}/{sampler}/shard{shard}.log"),
    benchmark:
        results("benchmarks/sample/{dataset}/{spacing}/NFE{budget}/{sampler}/shard{shard}.tsv")
    conda:
        ENV
    resources:
        gpu=GPU,
    params:
        cli=DDIM_EVAL,
        model=model,
        what=sampler_args,
        n=lambda wc: SHARDS[int(wc.shard)],
        extractor=extractor_args(),
        device=DEVICE,
        batch=sampling_batch,
        fast=fast_path_args(),
        random_weights=random_weights_args,
        keep=keep_samples_arg,
    # A shard commits its progress batch by batch (shard<k>/.partial/, not an output, so Snakemake keeps it when
    # a job fails or is killed): the rerun resumes after the last finished batch.
    shell:
        '{params.cli} sample {params.model} "$(dirname {output.stats:q})" {params.what} '
        "--spacing {wildcards.spacing} --n {params.n} --shard {wildcards.shard} {params.keep} {params.extractor} "
        "--device {params.device} --batch-size {params.batch} {params.fast} {params.random_weights} >> {log:q} 2>&1"


rule cell_metrics:
    input:
        stats=expand(results(experiment.CELL_DIR, "shard{shard}/stats.npz"), shard=sorted(SHARDS), allow_missing=True),
        features=expand(
            results(experiment.CELL_DIR, "shard{shard}/features.npz"), shard=sorted(SHARDS), allow_missing=True
        ),
        ref_stats=lambda wc: f"{reference_dir(wc.dataset)}/stats.npz",
        ref_features=lambda wc: f"{reference_dir(wc.dataset)}/features.npz",
    output:
        stats=results(experiment.CELL_DIR, "stats.npz"),
        metrics=results(experiment.CELL_DIR, "metrics.json"),
    log:
        results("logs/cell_metrics/{dataset}/{spacing}/NFE{budget}/{sampler}.log"),
    benchmark:
        results("benchmarks/cell_metrics/{dataset}/{spacing}/NFE{budget}/{sampler}.tsv")
    conda:
        ENV
    # The bootstrap's weighted Gram matrices run on the GPU when the run has one.
    resources:
        gpu=GPU,
    params:
        cli=DDIM_EVAL,
        intervals=interval_args(),
        extras=metric_args(),
        device=DEVICE,
    shell:
        "({params.cli} merge-stats {input.stats:q} {output.stats:q} && "
        "{params.cli} fid {output.stats:q} {input.ref_stats:q} --features {input.features:q} "
        "--ref-features {input.ref_features:q} {params.intervals} {params.extras} --device {params.device} "
        "--out {output.metrics:q}) > {log:q} 2>&1"


# A user's sample set (config `external`), scored as a cell is: the run's extractor, reference and intervals.
rule external_metrics:
    input:
        samples=lambda wc: EXTERNAL[wc.name]["path"],
        ref_stats=lambda wc: f"{reference_dir(EXTERNAL[wc.name]['dataset'])}/stats.npz",
        ref_features=lambda wc: f"{reference_dir(EXTERNAL[wc.name]['dataset'])}/features.npz",
        weights=EXTRACTOR_WEIGHTS or [],
    output:
        results(experiment.EXTERNAL_PATH),
    log:
        results("logs/external/{name}.log"),
    conda:
        ENV
    resources:
        gpu=GPU,
    params:
        cli=DDIM_EVAL,
        intervals=interval_args(),
        extras=metric_args(),
        weights=f"--weights-path {shlex.quote(EXTRACTOR_WEIGHTS)}" if EXTRACTOR_WEIGHTS else "",
        device=DEVICE,
        batch=FEATURE_BATCH,
    shell:
        "{params.cli} score {input.samples:q} --reference {input.ref_stats:q} {params.intervals} {params.extras} "
        "{params.weights} --device {params.device} --batch-size {params.batch} --out {output:q} > {log:q} 2>&1"
