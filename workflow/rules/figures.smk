# Figure 4 from the timing table, and Figures 3, 5 and 6 (samples, consistency, interpolation) per dataset.


rule timing_figure:
    input:
        results("tables/timing.csv"),
    output:
        png=report(results("figures/timing.png"), caption="../report/timing_figure.rst", category="Figure 4"),
        pdf=results("figures/timing.pdf"),
    log:
        results("logs/timing_figure.log"),
    conda:
        ENV
    params:
        cli=DDIM_EVAL,
        stem=lambda wc, output: output.png.removesuffix(".png"),
    shell:
        "{params.cli} timing-figure {input:q} {params.stem:q} > {log:q} 2>&1"


rule fid_figure:
    input:
        results("tables/table1.csv"),
    output:
        png=report(results("figures/fid.png"), caption="../report/fid_figure.rst", category="Tables"),
        pdf=results("figures/fid.pdf"),
    log:
        results("logs/fid_figure.log"),
    conda:
        ENV
    params:
        cli=DDIM_EVAL,
        stem=lambda wc, output: output.png.removesuffix(".png"),
    shell:
        "{params.cli} fid-figure {input:q} {params.stem:q} > {log:q} 2>&1"


FIGURES = config["figures"]


rule image_figures:
    input:
        checkpoint=checkpoint,
    output:
        samples=report(
            results("figures/{dataset}/samples.png"),
            caption="../report/samples.rst",
            category="Figures 3, 5, 6",
            subcategory="{dataset}",
        ),
        consistency=report(
            results("figures/{dataset}/consistency.png"),
            caption="../report/consistency.rst",
            category="Figures 3, 5, 6",
            subcategory="{dataset}",
        ),
        interpolation=report(
            results("figures/{dataset}/interpolation.png"),
            caption="../report/interpolation.rst",
            category="Figures 3, 5, 6",
            subcategory="{dataset}",
        ),
        pdf=multiext(results("figures/{dataset}/"), "samples.pdf", "consistency.pdf", "interpolation.pdf"),
    log:
        results("logs/image_figures/{dataset}.log"),
    conda:
        ENV
    resources:
        gpu=GPU,
    params:
        cli=DDIM_EVAL,
        model=model,
        samples=f"--sample-steps {' '.join(map(str, FIGURES['samples']['steps']))} "
        f"--variants {' '.join(map(str, FIGURES['samples']['variants']))} --n {FIGURES['samples']['n']}",
        consistency=f"--consistency-steps {' '.join(map(str, FIGURES['consistency']['steps']))} "
        f"--consistency-n {FIGURES['consistency']['n']}",
        interpolation=f"--interpolation-steps {FIGURES['interpolation']['steps']} "
        f"--pairs {FIGURES['interpolation']['pairs']} --points {FIGURES['interpolation']['points']}",
        spacing=lambda wc: experiment.spacing(config, wc.dataset),
        device=DEVICE,
        batch=sampling_batch,
        fast=fast_path_args(),
        random_weights=random_weights_args,
    shell:
        '{params.cli} figures {params.model} "$(dirname {output.samples:q})" {params.samples} {params.consistency} '
        "{params.interpolation} --spacing {params.spacing} --device {params.device} --batch-size {params.batch} "
        "{params.fast} {params.random_weights} > {log:q} 2>&1"
