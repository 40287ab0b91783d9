"""Where the browser view draws each user: a culture-clustered layout of at most `MAX_DRAWN_USERS`.

Computed once per model (the network does not change shape during a run) and cached.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from sociosim.model.model import AlignmentModel

MAX_DRAWN_USERS = 1000
MAX_DRAWN_EDGES = 2500


@dataclass(frozen=True)
class SocietyLayout:
    """Fixed positions for a sample of users and the ties among them, computed once per model."""

    users: np.ndarray  # indices of the drawn users, sorted
    xy: np.ndarray  # (n_drawn, 2) positions
    edges: np.ndarray  # (n_edges, 2) pairs of row numbers into `users`
    total_users: int


_LAYOUTS: weakref.WeakKeyDictionary[Any, SocietyLayout] = weakref.WeakKeyDictionary()


def compute_layout(
    culture: np.ndarray,
    adjacency: Any,
    *,
    seed: int,
    max_users: int = MAX_DRAWN_USERS,
    max_edges: int = MAX_DRAWN_EDGES,
) -> SocietyLayout:
    """Culture-clustered positions (each culture round its own centre, plus jitter) for a user sample.

    O(N + E): no force simulation, so 10^4 or 10^6 users lay out in milliseconds.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5C1E7]))
    n = len(culture)
    drawn = np.sort(rng.choice(n, size=max_users, replace=False)) if n > max_users else np.arange(n)
    n_cultures = int(culture.max()) + 1 if n else 1
    angle = 2.0 * np.pi * np.arange(n_cultures) / max(n_cultures, 1) + np.pi / 2
    centres = np.stack([np.cos(angle), np.sin(angle)], axis=1) * (1.0 if n_cultures > 1 else 0.0)
    radius = 0.45 * np.sqrt(rng.random(len(drawn)))
    theta = rng.random(len(drawn)) * 2.0 * np.pi
    xy = centres[culture[drawn]] + np.stack([radius * np.cos(theta), radius * np.sin(theta)], axis=1)
    sub = adjacency[drawn][:, drawn].tocoo()
    upper = sub.row < sub.col
    edges = np.stack([sub.row[upper], sub.col[upper]], axis=1).astype(np.int64)
    if len(edges) > max_edges:
        edges = edges[np.sort(rng.choice(len(edges), size=max_edges, replace=False))]
    return SocietyLayout(users=drawn, xy=xy, edges=edges, total_users=n)


def layout_for(model: AlignmentModel) -> SocietyLayout:
    """The model's society layout, computed on first request and kept as long as the model lives."""
    found = _LAYOUTS.get(model)
    if found is None:
        seed = int(getattr(model, "seed_value", getattr(model, "_seed", 0)) or 0)
        found = compute_layout(model.users.culture, model.users.adjacency, seed=seed)
        _LAYOUTS[model] = found
    return found
