# Tables 1-3 and the Figure 4 timings (tidy CSV, Markdown and HTML beside the paper's numbers) and the run's
# Markdown summary. `snakemake --report results/<run>/report.html` gathers the report() outputs into one page.


rule tables:
    input:
        grid.table_inputs(config, OUT),
    output:
        csv=[
            report(results(f"tables/{t}.csv"), caption="../report/table_csv.rst", category="Tables (CSV)")
            for t in grid.ALL_TABLES
        ],
        html=[
            report(results(f"tables/{t}.html"), caption=f"../report/{t}.rst", category="Tables")
            for t in grid.ALL_TABLES
        ],
        md=[results(f"tables/{t}.md") for t in grid.ALL_TABLES],
        comparisons=[
            report(
                results(f"tables/{t}_comparisons.csv"), caption="../report/comparisons.rst", category="Tables (CSV)"
            )
            for t in grid.COMPARED_TABLES
        ],
    log:
        results("logs/tables.log"),
    conda:
        ENV
    script:
        "../scripts/tables.py"


rule summary:
    input:
        rules.tables.output.md,
        rules.tables.output.comparisons,
        rules.fid_figure.output,
        rules.timing_figure.output,
        expand(rules.image_figures.output, dataset=config["figures"]["datasets"]),
    output:
        results("summary.md"),
    log:
        results("logs/summary.log"),
    conda:
        ENV
    script:
        "../scripts/summary.py"
