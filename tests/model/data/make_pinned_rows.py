"""The pinned rows of four scenarios at fixed seeds, and the script that writes them.

`python tests/data/make_pinned_rows.py tests/data/pinned_rows.parquet` re-pins. Re-pin only
when a change is meant to alter results, and say so in its commit.
"""

import sys

import pandas as pd

import sociosim

STEPS = 15
SIZES = {"n_users": 300, "n_annotators": 24, "n_responses": 128}
CASES = [
    ("maps_interventions", 14, {"lever": "misspecification"}),
    ("baseline", 11, {}),
    ("regulator_race", 12, {"audit_gap_threshold": 0.3, "audit_every": 4, "regulator_lever": "annotation"}),
    ("value_homogenization", 13, {}),
]


def pinned_run(name: str, seed: int, extra: dict) -> pd.DataFrame:
    """One case's rows, as the test recomputes them."""
    return sociosim.run(name, steps=STEPS, seed=seed, **SIZES, **extra)


def main(path: str) -> None:
    frames = []
    for name, seed, extra in CASES:
        frame = pinned_run(name, seed, extra)
        frame.insert(0, "scenario", name)
        frames.append(frame)
    pd.concat(frames, ignore_index=True).to_parquet(path, index=False)


if __name__ == "__main__":
    main(sys.argv[1])
