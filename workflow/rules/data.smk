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
