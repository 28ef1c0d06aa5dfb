"""Fixtures shared by the catalog tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from kanalytics.catalog.loader import Catalog, load_catalog


@pytest.fixture(scope="module", autouse=True)
def _no_fsync() -> Iterator[None]:
    """The catalog tests build throw-away archives in tmp: durability is tests/archive's subject, not theirs.

    Skipping fsync (which waits for the disk, several times per ingest) makes building the ~250 small test
    archives CPU-bound; what gets written and read is unchanged.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "fsync", lambda fd: None)
        yield


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The built-in catalog, loaded once per test process (raises one QueryError listing every invalid file)."""
    return load_catalog()
