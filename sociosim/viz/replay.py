"""Stored batch runs for the replay view: which runs a store holds, and one run's step measures.

Reads a results store written by `sociosim batch` (`sociosim viz --store STORE`). A run is
picked by scenario, design point and replicate, the columns every stored table carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sociosim.batch.store import ID_COLUMNS, ResultStore, open_store
from sociosim.errors import ScenarioError

MAX_SNAPSHOT_USERS = 1000  # users drawn from a stored snapshot, as the live society panel draws


@dataclass(frozen=True)
class StoredRuns:
    """The finished runs of a store, one row each, with their design columns."""

    store: ResultStore
    runs: pd.DataFrame
    design_columns: tuple[str, ...]

    def scenarios(self) -> list[str]:
        return sorted(self.runs["scenario"].unique())

    def points(self, scenario: str) -> list[int]:
        return sorted(int(p) for p in self.runs.loc[self.runs["scenario"] == scenario, "point"].unique())

    def replicates(self, scenario: str, point: int) -> list[int]:
        rows = self.runs[(self.runs["scenario"] == scenario) & (self.runs["point"] == point)]
        return sorted(int(r) for r in rows["replicate"].unique())

    def point_label(self, scenario: str, point: int) -> str:
        """`point 3: beta 2, flattery_bias 1.5` (the design values of that point)."""
        rows = self.runs[(self.runs["scenario"] == scenario) & (self.runs["point"] == point)]
        if rows.empty:
            return f"point {point}"
        row = rows.iloc[0]
        values = [f"{c} {row[c]}" for c in self.design_columns if c in row and pd.notna(row[c])]
        return f"point {point}" + (": " + ", ".join(values) if values else "")

    def run_key(self, scenario: str, point: int, replicate: int) -> str | None:
        rows = self.runs[
            (self.runs["scenario"] == scenario)
            & (self.runs["point"] == point)
            & (self.runs["replicate"] == replicate)
        ]
        return None if rows.empty else str(rows.iloc[-1]["run_key"])

    def measures(self, run_key: str) -> pd.DataFrame:
        """One run's step measures (step, then the measure columns), ordered by step."""
        frame = self.store.query("SELECT * FROM measures WHERE run_key = ? ORDER BY step", [run_key])
        keep = ["step", *(c for c in frame.columns[list(frame.columns).index("step") + 1 :])]
        return frame[keep].reset_index(drop=True)

    def events(self, run_key: str) -> list[dict]:
        """The regulator interventions of one run, as the live view holds them."""
        frame = self.store.events()
        if frame.empty:
            return []
        rows = frame[frame["run_key"] == run_key]
        return [
            {
                "step": int(r["step"]),
                "lever": str(r.get("lever", "")),
                "complied": bool(r.get("complied", True)),
            }
            for r in rows.to_dict("records")
        ]

    def snapshot_steps(self, run_key: str) -> list[int]:
        """The steps at which this run's users were stored (empty without agent snapshots)."""
        try:
            frame = self.store.query(
                "SELECT DISTINCT step FROM agents WHERE run_key = ? ORDER BY step", [run_key]
            )
        except ScenarioError:
            return []  # no snapshot table: the batch ran without --snapshot-every
        return [int(s) for s in frame["step"]]

    def snapshot(self, run_key: str, step: int, *, max_users: int = MAX_SNAPSHOT_USERS) -> pd.DataFrame:
        """The stored users of one run at one step; above `max_users`, every k-th user (by index)."""
        frame = self.store.query(
            'SELECT * FROM agents WHERE run_key = ? AND step = ? ORDER BY "user"', [run_key, step]
        )
        if len(frame) > max_users:
            frame = frame.iloc[:: -(-len(frame) // max_users)]
        return frame.reset_index(drop=True)


def open_runs(path: str | Path) -> StoredRuns:
    """The finished runs of the store at `path`, or a ScenarioError naming the path."""
    path = Path(path)
    if not path.is_dir():
        raise ScenarioError("store", f"{path} is not a results directory written by `sociosim batch`")
    store = open_store(path)
    runs = store.runs()
    if runs.empty:
        raise ScenarioError("store", f"{path} holds no finished runs")
    if "status" in runs:
        runs = runs[runs["status"] == "ok"]
    columns = list(runs.columns)
    end = columns.index("status") if "status" in columns else len(columns)
    design = tuple(c for c in columns[:end] if c not in ID_COLUMNS)
    return StoredRuns(store, runs.reset_index(drop=True), design)
