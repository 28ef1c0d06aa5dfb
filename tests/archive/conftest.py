"""These tests are about the archive layer (files, manifests, counts); evaluation at commit would add findings
files to every ingest, so it is off here (tests/catalog/test_evaluation_*.py and tests/test_evaluation_at_commit.py
cover it)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_evaluation_at_commit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KANALYTICS_EVALUATE_ON_COMMIT", "0")
