"""Generated reference docs must match the code: run `make docs` after changing commands or queries."""

from __future__ import annotations

import pytest

from kanalytics import docgen
from tests.conftest import REPO


@pytest.mark.parametrize("name", sorted(docgen.DOCS))
def test_generated_doc_is_current(name: str) -> None:
    committed = (REPO / "docs" / name).read_text(encoding="utf-8")
    assert committed == docgen.DOCS[name](), f"docs/{name} is stale: run `make docs` and commit the result"
