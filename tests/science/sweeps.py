"""Shared helper for the science tests: seeded runs summarised by their last steps, cached.

`SOCIOSIM_SEED_OFFSET=1000 pytest tests/science` runs every science test on seeds nobody
tuned for (1000, 1001, ...), and `SOCIOSIM_SCIENCE_SIZE="n_values=3,n_cultures=5,n_responses=97"`
on unusual sizes: the claims must hold there too (docs/science.md says where they do not).
"""

from __future__ import annotations

import os
from functools import cache

import numpy as np
import pandas as pd

import sociosim

SEED_OFFSET = int(os.environ.get("SOCIOSIM_SEED_OFFSET", "0"))


def _size_from_env(text: str) -> dict[str, int]:
    pairs = (item.split("=") for item in text.split(",") if item.strip())
    return {name.strip(): int(value) for name, value in pairs}


SCIENCE_SIZE = {"n_users": 300, **_size_from_env(os.environ.get("SOCIOSIM_SCIENCE_SIZE", ""))}
N_CULTURES = SCIENCE_SIZE.get("n_cultures", 4)
N_RESPONSES = SCIENCE_SIZE.get("n_responses", 512)


def skewed_shares(dominant: float = 0.7) -> list[float]:
    """An annotator pool with `dominant` from culture 0 and the rest split equally."""
    rest = round((1.0 - dominant) / (N_CULTURES - 1), 12)  # 0.1, not 0.09999999999999999
    return [dominant] + [rest] * (N_CULTURES - 1)


def balanced_shares() -> list[float]:
    """Every culture the same share."""
    return [1.0 / N_CULTURES] * N_CULTURES


# pressure studies hold users' values fixed (no persuasion), so true utility measures the policy alone
PRESSURE = {"persuasion": 0.0}
# Gao et al.'s fixed-data protocol: every human label drawn from pi_0
FIXED_DATA = {"persuasion": 0.0, "label_policy": "base"}


def seeds(n: int) -> range:
    """The first `n` science seeds (shifted by SOCIOSIM_SEED_OFFSET)."""
    return range(SEED_OFFSET, SEED_OFFSET + n)


@cache
def _outcome(steps: int, last: int, seed: int, items: tuple) -> pd.Series:
    frame = sociosim.run(steps=steps, seed=seed, **SCIENCE_SIZE, **dict(items))
    return frame.iloc[-last:].mean()


def outcome(*, seed: int, steps: int = 30, last: int = 10, **params) -> pd.Series:
    """Mean of each measure over the last `last` of `steps` steps of one seeded run."""
    items = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
    return _outcome(steps, last, seed, items)


def outcomes(seeds, **params) -> pd.DataFrame:
    """`outcome` of each seed, one row per seed."""
    return pd.DataFrame([outcome(seed=s, **params) for s in seeds])


def mean_outcome(seeds, **params) -> pd.Series:
    """`outcome` averaged over seeds (common random numbers across settings)."""
    return outcomes(seeds, **params).mean()


def curve(measure: str, values, *, over: str, seeds, **params) -> np.ndarray:
    """The seed-averaged final value of `measure` at each value of parameter `over`."""
    return np.array([mean_outcome(seeds, **{over: v}, **params)[measure] for v in values])


def curve_with_se(measure: str, values, *, over: str, seeds, **params) -> tuple[np.ndarray, np.ndarray]:
    """The seed mean of `measure` at each value of `over`, and its standard error over seeds."""
    per_seed = np.array([outcomes(seeds, **{over: v}, **params)[measure].to_numpy() for v in values])
    return per_seed.mean(axis=1), per_seed.std(axis=1, ddof=1) / np.sqrt(per_seed.shape[1])
