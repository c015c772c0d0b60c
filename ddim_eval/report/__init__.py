"""Report: Tables 1-3 and the timings beside the paper's numbers (tidy CSV, Markdown, HTML) with their intervals and the
paired comparisons they imply (unpaired for a user's sample set), the protocol study's table and figure, the run's
Markdown summary, the figures (Figure 4, FID over S with error bars and the image mosaics) and the image arrays
behind Figures 3, 5 and 6.

Names load on first use (lazy_loader).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["showcase"],
    submod_attrs={
        "comparisons": ["compare_cells", "compare_external", "entry_marks"],
        "figures": ["fid_figure", "rows_figure", "samples_figure", "save_figure", "timing_figure"],
        "protocol": ["protocol_figure", "write_protocol"],
        "summary": ["write_summary"],
        "tables": ["PAPER_TABLES", "TOLERANCE", "collect", "paper_layout", "paper_values", "write_tables"],
    },
)
