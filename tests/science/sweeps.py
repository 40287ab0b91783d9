"""Shared helper for the science tests: seeded runs summarised by their last steps, cached."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

import sociosim

SCIENCE_SIZE = {"n_users": 300}


@cache
def _outcome(steps: int, last: int, seed: int, items: tuple) -> pd.Series:
    frame = sociosim.run(steps=steps, seed=seed, **SCIENCE_SIZE, **dict(items))
    return frame.iloc[-last:].mean()


def outcome(*, seed: int, steps: int = 30, last: int = 10, **params) -> pd.Series:
    """Mean of each measure over the last `last` of `steps` steps of one seeded run."""
    items = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
    return _outcome(steps, last, seed, items)


def mean_outcome(seeds, **params) -> pd.Series:
    """`outcome` averaged over seeds (common random numbers across settings)."""
    return pd.concat([outcome(seed=s, **params) for s in seeds], axis=1).mean(axis=1)


def curve(measure: str, values, *, over: str, seeds, **params) -> np.ndarray:
    """The seed-averaged final value of `measure` at each value of parameter `over`."""
    return np.array([mean_outcome(seeds, **{over: v}, **params)[measure] for v in values])
