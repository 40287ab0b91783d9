"""Every figure writes a non-empty PNG and SVG."""

from __future__ import annotations

import pandas as pd
import pytest

from sociosim.analysis import compare_policies, figures, trilemma_frontier
from sociosim.analysis.synthetic import synthetic_batch

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def batch() -> pd.DataFrame:
    return synthetic_batch(replications=3, steps=12)


def check(paths, stem):
    assert [p.suffix for p in paths] == [".png", ".svg"]
    png, svg = paths
    assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 5000
    assert "<svg" in svg.read_text()[:2000]
    assert not list(png.parent.glob(".*.tmp"))  # atomic writes leave no temp files
    assert png.stem == stem


def test_data_figures(batch, tmp_path):
    check(figures.plot_gap_vs_pressure(batch, tmp_path / "gap", by="aggregation"), "gap")
    check(figures.plot_gap_vs_pressure(batch, tmp_path / "gapkl", x="sqrt_kl"), "gapkl")
    check(figures.plot_goodhart(batch, tmp_path / "goodhart", by="aggregation"), "goodhart")
    check(figures.plot_homogenisation(batch, tmp_path / "homog", by="aggregation"), "homog")
    check(figures.plot_trust_calibration(batch, tmp_path / "trust"), "trust")
    check(figures.plot_sycophancy(batch, tmp_path / "syc", by="aggregation"), "syc")


def test_table_figures(batch, tmp_path):
    check(figures.plot_trilemma(trilemma_frontier(batch), tmp_path / "tri"), "tri")
    effects = compare_policies(batch, by="aggregation", baseline="pooled", n_boot=200)
    check(figures.plot_effects(effects, tmp_path / "eff"), "eff")
    sobol = pd.DataFrame(
        {
            "name": ["beta", "eta"],
            "S1": [0.6, 0.2],
            "S1_conf": [0.05, 0.04],
            "ST": [0.7, 0.25],
            "ST_conf": [0.06, 0.05],
        }
    )
    check(figures.plot_sobol(sobol, tmp_path / "sobol"), "sobol")


def test_missing_columns_are_named(tmp_path):
    with pytest.raises(KeyError, match="trust_mean"):
        figures.plot_trust_calibration(pd.DataFrame({"run_key": ["a"], "reliability": [0.5]}), tmp_path / "x")
