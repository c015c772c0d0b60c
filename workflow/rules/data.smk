# Prepared splits: uint8 NCHW arrays under resources/<dataset>/<split>.npy, shared by every run.


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
    fetch_checkpoint,
