"""The users' social network, built directly as a sparse adjacency matrix.

The stochastic block model is sampled edge by edge in numpy (O(E), so 10^6 users build
in seconds); Watts–Strogatz and Barabási–Albert come from networkx for moderate sizes.
`to_networkx` gives the graph to tools that want one (the browser view, analysts).
"""

from __future__ import annotations

import networkx as nx
import numpy as np
import scipy.sparse as sp

from sociosim.config.params import ModelParams


def sorted_distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct values of `keys` in ascending order (same result as `np.unique`).

    Sort-and-compare: numpy 2.x's `np.unique` takes a hash-table path on integers that is
    about 50x slower for the 10^6-10^7 edge keys of a large network.
    """
    keys = np.sort(keys)
    return keys[np.concatenate(([True], keys[1:] != keys[:-1]))] if len(keys) else keys


def symmetric_adjacency(rows: np.ndarray, cols: np.ndarray, n: int) -> sp.csr_matrix:
    """An undirected simple graph (no self-loops, no multi-edges) as a CSR matrix of ones."""
    keep = rows != cols
    rows, cols = rows[keep], cols[keep]
    low, high = np.minimum(rows, cols), np.maximum(rows, cols)
    pairs = sorted_distinct(low.astype(np.int64) * n + high)
    low, high = pairs // n, pairs % n
    data = np.ones(2 * len(pairs), dtype=np.float32)
    both_rows = np.concatenate([low, high]).astype(np.int32 if n < 2**31 else np.int64)
    both_cols = np.concatenate([high, low]).astype(both_rows.dtype)
    return sp.csr_matrix((data, (both_rows, both_cols)), shape=(n, n))


def stochastic_block_model(
    culture: np.ndarray, *, mean_degree: float, homophily: float, rng: np.random.Generator
) -> sp.csr_matrix:
    """SBM by culture: each tie joins two users of one culture with probability `homophily`.

    Edges are drawn as `N * mean_degree / 2` endpoint pairs: a random first end, then a
    second end from the same culture (probability `homophily`) or from any other culture.
    """
    n = len(culture)
    n_edges = int(round(n * mean_degree / 2))
    if n_edges == 0 or n < 2:
        return sp.csr_matrix((n, n), dtype=np.float32)
    order = np.argsort(culture, kind="stable")
    counts = np.bincount(culture, minlength=int(culture.max()) + 1)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    first = rng.integers(0, n, n_edges)
    own = culture[first]
    within = rng.random(n_edges) < homophily
    # a member of the own culture
    pick_own = starts[own] + (rng.random(n_edges) * counts[own]).astype(np.int64)
    # a member of any other culture: index into the sorted order, skipping the own block
    others = n - counts[own]
    offset = (rng.random(n_edges) * np.maximum(others, 1)).astype(np.int64)
    pick_other = np.where(offset < starts[own], offset, offset + counts[own])
    pick_other = np.minimum(pick_other, n - 1)
    use_own = within | (others == 0)
    second = order[np.where(use_own, pick_own, pick_other)]
    return symmetric_adjacency(first, second, n)


def from_networkx(graph: nx.Graph, n: int) -> sp.csr_matrix:
    """A networkx graph on nodes 0..n-1 as a symmetric CSR matrix."""
    edges = np.asarray(list(graph.edges()), dtype=np.int64).reshape(-1, 2)
    return symmetric_adjacency(edges[:, 0], edges[:, 1], n)


def build_network(params: ModelParams, culture: np.ndarray, rng: np.random.Generator) -> sp.csr_matrix:
    """The users' network of the configured kind, as a symmetric CSR adjacency matrix."""
    n = len(culture)
    k = params.mean_degree
    if params.network == "sbm":
        return stochastic_block_model(culture, mean_degree=k, homophily=params.homophily, rng=rng)
    if params.network == "watts_strogatz":
        neighbours = max(2, int(round(k)) // 2 * 2)
        if neighbours >= n:
            return from_networkx(nx.complete_graph(n), n)
        return from_networkx(nx.watts_strogatz_graph(n, neighbours, params.rewire, seed=rng), n)
    m = max(1, int(round(k / 2)))
    if m >= n:
        return from_networkx(nx.complete_graph(n), n)
    return from_networkx(nx.barabasi_albert_graph(n, m, seed=rng), n)


def row_normalised(adjacency: sp.csr_matrix) -> sp.csr_matrix:
    """`W = D^-1 A`: each user's neighbours weigh equally (isolated users get an empty row).

    The degree is counted in float64: dividing by the float32 row sums of the 0/1 matrix
    gave weights rounded to float32, so rows summed to 1 only within about 1e-7.
    """
    degree = np.diff(adjacency.indptr).astype(float)
    inverse = np.divide(1.0, degree, out=np.zeros_like(degree), where=degree > 0)
    return sp.diags(inverse) @ adjacency


def to_networkx(adjacency: sp.csr_matrix) -> nx.Graph:
    """The network as a networkx graph (for drawing and analysis; not used in the step)."""
    return nx.from_scipy_sparse_array(adjacency)
