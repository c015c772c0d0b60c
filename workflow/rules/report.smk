# Tables 1-3 and the Figure 4 timings (tidy CSV, Markdown and HTML beside the paper's numbers) and the run's
# Markdown summary. `snakemake --report results/<run>/report.html` gathers the report() outputs into one page.


rule tables:
    input:
        grid.table_inputs(config, OUT),
    output:
        csv=[report(f"{OUT}/tables/{t}.csv", caption="../report/table_csv.rst", category="Tables (CSV)")
             for t in grid.ALL_TABLES],
        html=[report(f"{OUT}/tables/{t}.html", caption=f"../report/{t}.rst", category="Tables")
              for t in grid.ALL_TABLES],
        md=[f"{OUT}/tables/{t}.md" for t in grid.ALL_TABLES],
    params:
        out=OUT,
    log:
        OUT + "/logs/tables.log",
    script:
        "../scripts/tables.py"


rule summary:
    input:
        rules.tables.output.md,
        rules.timing_figure.output,
        expand(rules.image_figures.output, dataset=config["figures"]["datasets"]),
    output:
        OUT + "/summary.md",
    params:
        out=OUT,
    log:
        OUT + "/logs/summary.log",
    script:
        "../scripts/summary.py"
