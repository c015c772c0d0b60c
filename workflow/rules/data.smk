# Prepared splits: uint8 NCHW arrays under resources/<source>/<split>.npy, shared by every run.
from ddim_eval import celeba, lsun


rule prepare_digits:
    output:
        train="resources/digits/train.npy",
        test="resources/digits/test.npy",
    log:
        "resources/logs/prepare_digits.log",
    shell:
        "{DDIM_EVAL} prepare-digits resources/digits > {log} 2>&1"


localrules:
    prepare_digits,


rule download_cifar10:
    output:
        "resources/downloads/cifar-10-python.tar.gz",
    log:
        "resources/logs/download_cifar10.log",
    retries: 2
    shell:
        "{FETCH} fetch-cifar10 {output} > {log} 2>&1"


rule prepare_cifar10:
    input:
        rules.download_cifar10.output,
    output:
        train="resources/cifar10/train.npy",
        test="resources/cifar10/test.npy",
    log:
        "resources/logs/prepare_cifar10.log",
    shell:
        "{DDIM_EVAL} prepare-cifar10 {input} resources/cifar10 > {log} 2>&1"


rule download_celeba:
    output:
        archive="resources/downloads/celeba/img_align_celeba.zip",
        partition="resources/downloads/celeba/list_eval_partition.txt",
    log:
        "resources/logs/download_celeba.log",
    retries: 2
    shell:
        "{FETCH} fetch-celeba $(dirname {output.archive}) > {log} 2>&1"


rule prepare_celeba:
    input:
        **rules.download_celeba.output,
    output:
        "resources/celeba/{split}.npy",
    wildcard_constraints:
        split="|".join(celeba.SPLITS),
    params:
        max_images=max_images_arg("celeba"),
    log:
        "resources/logs/prepare_celeba/{split}.log",
    shell:
        "{DDIM_EVAL} prepare-celeba {input.archive} {input.partition} {output} --split {wildcards.split} "
        "{params.max_images} > {log} 2>&1"


# The output is the LMDB's data file, so an LMDB unpacked by hand into place is used as it is.
rule download_lsun:
    output:
        "resources/downloads/lsun/{category}_train_lmdb/data.mdb",
    wildcard_constraints:
        category="|".join(lsun.CATEGORIES),
    log:
        "resources/logs/download_lsun/{category}.log",
    retries: 2
    shell:
        "{FETCH} fetch-lsun {wildcards.category} resources/downloads/lsun > {log} 2>&1"


rule prepare_lsun:
    input:
        rules.download_lsun.output,
    output:
        "resources/lsun_{category}/train.npy",
    wildcard_constraints:
        category="|".join(lsun.CATEGORIES),
    params:
        max_images=lambda wc: max_images_arg(f"lsun_{wc.category}"),
    log:
        "resources/logs/prepare_lsun/{category}.log",
    shell:
        "{DDIM_EVAL} prepare-lsun $(dirname {input}) {output} {params.max_images} > {log} 2>&1"


if FETCH_INCEPTION:

    rule fetch_inception:
        output:
            EXTRACTOR_WEIGHTS,
        log:
            "resources/logs/fetch_inception.log",
        retries: 2
        shell:
            "{FETCH} fetch-inception --cache-dir {CACHE} > {log} 2>&1"

    localrules:
        fetch_inception,


rule fetch_checkpoint:
    output:
        CACHE + "/{checkpoint}",
    wildcard_constraints:
        checkpoint="|".join(re.escape(c) for c in CHECKPOINTS) or "(?!)",
    params:
        model=lambda wc: CHECKPOINTS[wc.checkpoint],
    log:
        "resources/logs/fetch_checkpoint/{checkpoint}.log",
    retries: 2
    shell:
        "{FETCH} fetch {params.model} > {log} 2>&1"


# Downloads run where Snakemake runs (compute nodes may have no internet); the rest may go to a cluster.
localrules:
    download_cifar10,
    download_celeba,
    download_lsun,
    fetch_checkpoint,
