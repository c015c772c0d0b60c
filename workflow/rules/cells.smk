# FID cells: reference statistics of the real split, samples in shards, merged statistics and FID/KID per cell.


rule reference_stats:
    input:
        split=lambda wc: dataset_split(wc.dataset, wc.split),
        weights=EXTRACTOR_WEIGHTS or [],
    output:
        stats=OUT + "/reference/{dataset}-{split}/stats.npz",
        features=OUT + "/reference/{dataset}-{split}/features.npz",
    params:
        extractor=extractor_args(),
        device=DEVICE,
        batch=BATCH,
    resources:
        gpu=GPU,
    log:
        OUT + "/logs/reference_stats/{dataset}-{split}.log",
    shell:
        "{DDIM_EVAL} reference-stats {input.split} $(dirname {output.stats}) {params.extractor} "
        "--device {params.device} --batch-size {params.batch} > {log} 2>&1"


rule sample_shard:
    input:
        checkpoint=checkpoint,
        weights=EXTRACTOR_WEIGHTS or [],
    output:
        stats=CELL_DIR + "/shard{shard}/stats.npz",
        features=CELL_DIR + "/shard{shard}/features.npz",
        timing=CELL_DIR + "/shard{shard}/timing.json",
    params:
        model=model,
        eta=lambda wc: grid.parse_variant(wc.variant),
        n=lambda wc: SHARDS[int(wc.shard)],
        extractor=extractor_args(),
        device=DEVICE,
        batch=sampling_batch,
        keep="--keep-samples" if config.get("keep_samples") else "",
    resources:
        gpu=GPU,
    log:
        OUT + "/logs/sample/{dataset}/{spacing}/S{steps}/{variant}/shard{shard}.log",
    shell:
        "{DDIM_EVAL} sample {params.model} $(dirname {output.stats}) --steps {wildcards.steps} --eta {params.eta} "
        "--spacing {wildcards.spacing} --n {params.n} --shard {wildcards.shard} {params.keep} {params.extractor} "
        "--device {params.device} --batch-size {params.batch} > {log} 2>&1"


rule cell_metrics:
    input:
        stats=expand(CELL_DIR + "/shard{shard}/stats.npz", shard=sorted(SHARDS), allow_missing=True),
        features=expand(CELL_DIR + "/shard{shard}/features.npz", shard=sorted(SHARDS), allow_missing=True),
        ref_stats=lambda wc: reference_dir(wc.dataset) + "/stats.npz",
        ref_features=lambda wc: reference_dir(wc.dataset) + "/features.npz",
    output:
        stats=CELL_DIR + "/stats.npz",
        metrics=CELL_DIR + "/metrics.json",
    log:
        OUT + "/logs/cell_metrics/{dataset}/{spacing}/S{steps}/{variant}.log",
    shell:
        "({DDIM_EVAL} merge-stats {output.stats} {input.stats} && "
        "{DDIM_EVAL} fid {output.stats} {input.ref_stats} --features {input.features} "
        "--ref-features {input.ref_features} --out {output.metrics}) > {log} 2>&1"
