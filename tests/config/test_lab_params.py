"""Per-lab parameters: one value for every lab, a list of n_labs values, or a [[labs]] table per lab."""

import pytest
from typer.testing import CliRunner

from sociosim.cli import app
from sociosim.config.params import LAB_FIELDS, ModelParams, make_params
from sociosim.config.scenario import scenario_from_dict
from sociosim.errors import ScenarioError


def test_a_list_gives_each_lab_its_value_and_the_flat_field_lab_0s():
    params = make_params(n_labs=2, beta=[1.0, 4.0], annotator_shares=[[0.7, 0.1, 0.1, 0.1], [0.25] * 4])
    assert params.beta == 1.0 and params.lab_params(1).beta == 4.0
    assert params.lab_params(1).annotator_shares == [0.25] * 4
    assert make_params(n_labs=2, annotator_shares=[0.25] * 4).labs is None  # one list value for all labs


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"n_labs": 2, "beta": [1.0, -1.0]}, "labs[1].beta", "must be a number in [0.0, 1000.0], got -1"),
        ({"beta": [1.0, 4.0]}, "beta", "needs one value per lab (n_labs = 1), got 2 values"),
        ({"n_labs": 2, "labs": [{}, {"n_users": 5}]}, "labs[1].n_users", "not a lab parameter"),
        ({"n_labs": 3, "labs": [{}, {}]}, "labs", "needs one table per lab (n_labs = 3), got 2"),
    ],
)
def test_bad_lab_values_name_the_lab_and_the_field(overrides, field, words):
    with pytest.raises(ScenarioError) as caught:
        make_params(**overrides)
    assert caught.value.field == field and words in caught.value.message


def test_a_labs_table_in_a_scenario_file_is_checked_with_its_own_name():
    with pytest.raises(ScenarioError) as caught:
        scenario_from_dict({"params": {"n_labs": 2}, "labs": [{"beta": 1.0}, {"beta": -1.0}]})
    assert caught.value.field == "labs[1].beta"
    scenario = scenario_from_dict({"params": {"n_labs": 2}, "labs": [{"beta": 1.0}, {"beta": 3.0}]})
    assert scenario.params.lab_params(1).beta == 3.0


def test_the_cli_takes_a_list_and_exits_2_naming_the_lab():
    result = CliRunner().invoke(app, ["run", "--set", "n_labs=2", "--set", "beta=[1,-1]"])
    assert result.exit_code == 2 and "labs[1].beta: must be a number" in result.output


def test_lab_fields_are_parameters():
    assert set(LAB_FIELDS) <= set(ModelParams.model_fields)
