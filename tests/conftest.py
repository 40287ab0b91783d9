"""Shared fixtures: small, fast model sizes for tests."""

import pytest

SMALL = {"n_users": 200, "n_annotators": 30, "n_responses": 256}


@pytest.fixture
def small():
    """Overrides that make a model small enough for a unit test."""
    return dict(SMALL)
