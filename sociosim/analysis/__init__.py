"""Analysis of sociosim batches: effects with CIs, pressure slopes, Goodhart fits, sensitivity,
the trilemma frontier, per-culture outcomes, scenario discovery, a scenario's claims checked
against its batch, figures and reports.

Every function takes the tidy step-level frame of a batch store (or its per-run summary);
`load_frame` accepts a store, a store path, a .parquet/.csv file or a DataFrame.
"""

from sociosim.analysis.claims import check_claims
from sociosim.analysis.cultures import culture_outcomes, trajectories
from sociosim.analysis.discovery import ema_available, ema_model, prim_boxes
from sociosim.analysis.effects import compare_policies
from sociosim.analysis.frames import load_frame, measure_columns, parameter_columns, summarise_runs
from sociosim.analysis.pressure import GoodhartFit, fit_goodhart, gap_vs_pressure, goodhart_table
from sociosim.analysis.report import ReportResult, write_report, write_reports
from sociosim.analysis.sensitivity import morris_screening, sensitivity_table, sobol_indices
from sociosim.analysis.trilemma import pareto_mask, trilemma_frontier

__all__ = [
    "GoodhartFit",
    "ReportResult",
    "check_claims",
    "compare_policies",
    "culture_outcomes",
    "ema_available",
    "ema_model",
    "fit_goodhart",
    "gap_vs_pressure",
    "goodhart_table",
    "load_frame",
    "measure_columns",
    "morris_screening",
    "parameter_columns",
    "pareto_mask",
    "prim_boxes",
    "sensitivity_table",
    "sobol_indices",
    "summarise_runs",
    "trajectories",
    "trilemma_frontier",
    "write_report",
    "write_reports",
]
