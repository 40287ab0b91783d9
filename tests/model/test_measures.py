"""The measures registry (DESIGN §4) is the one list of measures: what a run records is exactly what it lists."""

from __future__ import annotations

import pytest

from sociosim import AlignmentModel
from sociosim.model import metrics
from sociosim.model.measures import MEASURES, find_measure, is_measure, measure_columns, measure_doc


@pytest.mark.parametrize("n_cultures", [1, 4, 5])
def test_a_run_records_exactly_the_registered_measures_in_registry_order(n_cultures):
    model = AlignmentModel(n_users=120, n_annotators=12, n_responses=64, n_cultures=n_cultures, rng=3)
    model.step()
    assert sorted(model.measures) == sorted(measure_columns(n_cultures))
    assert list(model.results().columns) == ["step", *measure_columns(n_cultures)]


def test_every_measure_has_a_sentence_and_a_computing_function_in_metrics():
    for measure in MEASURES:
        assert measure.meaning.endswith((".", "?")) and len(measure.meaning) > 20, measure.name
        assert getattr(metrics, measure.computed_by.__name__) is measure.computed_by


def test_per_culture_columns_resolve_to_their_measure():
    assert find_measure("utility_3").name == "utility_{c}"
    assert "culture 2" in measure_doc("utility_2")
    assert is_measure("stance_alignment_0") and not is_measure("no_such_measure")
    assert measure_doc("no_such_measure") == ""
