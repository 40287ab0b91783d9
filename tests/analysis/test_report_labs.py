"""The report handles several labs: a labs table and a market-share plot, only when the batch has labs."""

import sociosim
from sociosim.analysis import write_report


def test_a_lab_batch_gets_a_labs_section_and_a_single_lab_batch_does_not(tmp_path):
    sociosim.run_batch(
        "lab_race",
        replications=2,
        steps=6,
        overrides={"n_users": 150},
        store=tmp_path / "labs",
        progress=False,
    )
    report = write_report(tmp_path / "labs", tmp_path / "labs-report")
    assert "labs" in report.sections
    assert any(path.name.startswith("market_shares") for path in report.figures)
    text = report.markdown.read_text(encoding="utf-8")
    assert "## Competing labs" in text and "| 1 | 1 |" in text  # design level 1 (a regulator), lab 1

    sociosim.run_batch(
        "baseline",
        replications=1,
        steps=4,
        overrides={"n_users": 150},
        store=tmp_path / "one",
        progress=False,
    )
    single = write_report(tmp_path / "one", tmp_path / "one-report")
    assert "labs" not in single.sections
