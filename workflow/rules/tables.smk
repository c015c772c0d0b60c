# Tables 1-3 and the Figure 4 timings, as tidy CSV and as Markdown beside the paper's numbers.


rule tables:
    input:
        grid.table_inputs(config, OUT),
    output:
        TABLES,
    params:
        out=OUT,
    log:
        OUT + "/logs/tables.log",
    script:
        "../scripts/tables.py"
