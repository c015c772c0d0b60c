# Prepared splits: uint8 NCHW arrays under resources/<source>/<split>.npy, shared by every run.
from ddim_eval.data import celeba, lsun


rule prepare_digits:
    output:
        train="resources/digits/train.npy",
        test="resources/digits/test.npy",
    log:
        "resources/logs/prepare_digits.log",
    conda:
        ENV
    params:
        cli=DDIM_EVAL,
    shell:
        '{params.cli} prepare-digits "$(dirname {output.train:q})" > {log:q} 2>&1'


localrules:
    prepare_digits,


rule download_cifar10:
    output:
        "resources/downloads/cifar-10-python.tar.gz",
    log:
        "resources/logs/download_cifar10.log",
    retries: 2
    conda:
        ENV
    params:
        cli=FETCH,
    shell:
        "{params.cli} fetch-cifar10 {output:q} > {log:q} 2>&1"


rule prepare_cifar10:
    input:
        rules.download_cifar10.output,
    output:
        train="resources/cifar10/train.npy",
        test="resources/cifar10/test.npy",
    log:
        "resources/logs/prepare_cifar10.log",
    conda:
        ENV
    params:
        cli=DDIM_EVAL,
    shell:
        '{params.cli} prepare-cifar10 {input:q} "$(dirname {output.train:q})" > {log:q} 2>&1'


rule download_celeba:
    output:
        archive="resources/downloads/celeba/img_align_celeba.zip",
        partition="resources/downloads/celeba/list_eval_partition.txt",
    log:
        "resources/logs/download_celeba.log",
    retries: 2
    conda:
        ENV
    params:
        cli=FETCH,
    shell:
        '{params.cli} fetch-celeba "$(dirname {output.archive:q})" > {log:q} 2>&1'


rule prepare_celeba:
    input:
        **rules.download_celeba.output,
    output:
        "resources/celeba/{split}.npy",
    log:
        "resources/logs/prepare_celeba/{split}.log",
    wildcard_constraints:
        split="|".join(celeba.SPLITS),
    conda:
        ENV
    params:
        cli=DDIM_EVAL,
        max_images=max_images_arg("celeba"),
    shell:
        "{params.cli} prepare-celeba {input.archive:q} {input.partition:q} {output:q} --split {wildcards.split} "
        "{params.max_images} > {log:q} 2>&1"


# The output is the LMDB's data file, so an LMDB unpacked by hand into place is used as it is.
rule download_lsun:
    output:
        "resources/downloads/lsun/{category}_train_lmdb/data.mdb",
    log:
        "resources/logs/download_lsun/{category}.log",
    wildcard_constraints:
        category="|".join(lsun.CATEGORIES),
    retries: 2
    conda:
        ENV
    params:
        cli=FETCH,
    shell:
        '{params.cli} fetch-lsun {wildcards.category} "$(dirname "$(dirname {output:q})")" > {log:q} 2>&1'


rule prepare_lsun:
    input:
        rules.download_lsun.output,
    output:
        "resources/lsun_{category}/train.npy",
    log:
        "resources/logs/prepare_lsun/{category}.log",
    wildcard_constraints:
        category="|".join(lsun.CATEGORIES),
    conda:
        ENV
    params:
        cli=DDIM_EVAL,
        max_images=lambda wc: max_images_arg(f"lsun_{wc.category}"),
    shell:
        '{params.cli} prepare-lsun "$(dirname {input:q})" {output:q} {params.max_images} > {log:q} 2>&1'


if FETCH_INCEPTION:

    rule fetch_inception:
        output:
            EXTRACTOR_WEIGHTS,
        log:
            "resources/logs/fetch_inception.log",
        retries: 2
        conda:
            ENV
        params:
            cli=FETCH,
        shell:
            '{params.cli} fetch-inception --cache-dir "$(dirname "$(dirname {output:q})")" > {log:q} 2>&1'

    localrules:
        fetch_inception,


rule fetch_checkpoint:
    output:
        f"{CACHE}/{{checkpoint}}",
    log:
        "resources/logs/fetch_checkpoint/{checkpoint}.log",
    wildcard_constraints:
        checkpoint="|".join(re.escape(c) for c in CHECKPOINTS) or "(?!)",
    retries: 2
    conda:
        ENV
    params:
        cli=FETCH,
        model=lambda wc: CHECKPOINTS[wc.checkpoint],
    shell:
        "{params.cli} fetch {params.model} > {log:q} 2>&1"


# Downloads run where Snakemake runs (compute nodes may have no internet); the rest may go to a cluster.
localrules:
    download_cifar10,
    download_celeba,
    download_lsun,
    fetch_checkpoint,
