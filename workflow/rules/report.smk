# Tables 1-3 and the Figure 4 timings (tidy CSV, Markdown and HTML beside the paper's numbers) and the run's
# Markdown summary. `snakemake --report results/<run>/report.html` gathers the report() outputs into one page.


rule tables:
    input:
        experiment.table_inputs(config, OUT),
    output:
        csv=[
            report(results(f"tables/{t}.csv"), caption="../report/table_csv.rst", category="Tables (CSV)")
            for t in experiment.ALL_TABLES
        ],
        html=[
            report(results(f"tables/{t}.html"), caption=f"../report/{t}.rst", category="Tables")
            for t in experiment.ALL_TABLES
        ],
        md=[results(f"tables/{t}.md") for t in experiment.ALL_TABLES],
        comparisons=[
            report(
                results(f"tables/{t}_comparisons.csv"), caption="../report/comparisons.rst", category="Tables (CSV)"
            )
            for t in experiment.COMPARED_TABLES
        ],
    log:
        results("logs/tables.log"),
    conda:
        ENV
    script:
        "../scripts/tables.py"


# Beyond the paper: FID against NFE per sampler (config `samplers`), compared pairwise with the first sampler.
rule sampler_study:
    input:
        experiment.study_inputs(config, OUT),
    output:
        csv=report(results("tables/samplers.csv"), caption="../report/table_csv.rst", category="Samplers"),
        html=report(results("tables/samplers.html"), caption="../report/samplers.rst", category="Samplers"),
        md=results("tables/samplers.md"),
        comparisons=report(
            results("tables/samplers_comparisons.csv"), caption="../report/comparisons.rst", category="Samplers"
        ),
    log:
        results("logs/sampler_study.log"),
    conda:
        ENV
    script:
        "../scripts/sampler_study.py"


rule sampler_figure:
    input:
        results("tables/samplers.csv"),
    output:
        png=report(results("figures/samplers.png"), caption="../report/sampler_figure.rst", category="Samplers"),
        pdf=results("figures/samplers.pdf"),
    log:
        results("logs/sampler_figure.log"),
    conda:
        ENV
    params:
        cli=DDIM_EVAL,
        stem=lambda wc, output: output.png.removesuffix(".png"),
    shell:
        "{params.cli} sampler-figure {input:q} {params.stem:q} > {log:q} 2>&1"


# Why FIDs disagree (config `protocol_study`): each deviation from the paper's protocol on one cell's kept samples.
rule protocol_study:
    input:
        experiment.protocol_inputs(config, OUT),
        lambda wc: [
            f"{reference_dir(PROTOCOL_CELLS[role].dataset)}/{name}"
            for role in ("paper", "resize")
            if role in PROTOCOL_CELLS
            for name in ("stats.npz", "features.npz")
        ],
        lambda wc: protocol_splits(),
        EXTRACTOR_WEIGHTS or [],
        [e["weights_path"] for e in PROTOCOL.get("extractors", []) if e.get("weights_path")],
        raw=lambda wc: protocol_raw_files(),
    output:
        json=results(experiment.PROTOCOL_PATH),
        csv=report(results("tables/protocol.csv"), caption="../report/table_csv.rst", category="Protocol study"),
        html=report(results("tables/protocol.html"), caption="../report/protocol.rst", category="Protocol study"),
        md=results("tables/protocol.md"),
        png=report(results("figures/protocol.png"), caption="../report/protocol_figure.rst", category="Protocol study"),
        pdf=results("figures/protocol.pdf"),
    log:
        results("logs/protocol_study.log"),
    conda:
        ENV
    resources:
        gpu=GPU,
    params:
        device=DEVICE,
        batch=FEATURE_BATCH,
        weights=EXTRACTOR_WEIGHTS,
    script:
        "../scripts/protocol_study.py"


rule summary:
    input:
        rules.tables.output.md,
        rules.tables.output.comparisons,
        rules.fid_figure.output,
        rules.timing_figure.output if config["timing"]["datasets"] else [],
        expand(rules.image_figures.output, dataset=config["figures"]["datasets"]),
        [rules.sampler_study.output.md, rules.sampler_figure.output.png] if config.get("samplers") else [],
        [rules.protocol_study.output.md, rules.protocol_study.output.png] if PROTOCOL else [],
    output:
        results("summary.md"),
    log:
        results("logs/summary.log"),
    conda:
        ENV
    script:
        "../scripts/summary.py"
