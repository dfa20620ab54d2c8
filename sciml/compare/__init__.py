"""Side-by-side comparison of finished runs (``sciml-compare``): tables and figures from run directories."""

from sciml.compare.runs import Run, find_runs
from sciml.compare.table import table_rows, write_tables

__all__ = ["Run", "find_runs", "table_rows", "write_tables"]
