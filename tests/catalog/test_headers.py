"""Query, view and macro headers in one canonical layout (kanalytics.catalog.headers), checked over the tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from kanalytics.catalog.headers import canonical_text, header_files, main, problems
from kanalytics.catalog.loader import builtin_query_dir, split_query_file

MESSY = """/* ---
description: 'A long description that was written on one line with quotes, and that goes on for long enough that it must be wrapped somewhere.'
references:
- falco:Attach/Exec Pod
- sigma:Kubernetes Pod Exec (Shell)
area: exec
controls: [soc2:CC6.1,  nist-800-53-r5:AU-6]
kind: detection
title: "Exec: into a pod"
id: some-query
severity: high
--- */

SELECT 1 AS x
"""

CANONICAL = """/* ---
id: some-query
title: 'Exec: into a pod'
kind: detection
severity: high
area: exec
controls: [soc2:CC6.1, nist-800-53-r5:AU-6]
references: [falco:Attach/Exec Pod, sigma:Kubernetes Pod Exec (Shell)]
description: >-
  A long description that was written on one line with quotes, and that goes on for long enough that it must
  be wrapped somewhere.
--- */
SELECT 1 AS x
"""


def test_every_builtin_header_is_canonical() -> None:
    root = builtin_query_dir()
    assert root is not None
    files = header_files(root)
    assert {p.parent.name for p in files} == {"metrics", "detections", "anomalies", "views", "macros", "tune"}
    found = problems(files)
    assert not found, "\n".join(found)


def test_canonical_form_orders_keys_and_normalises_lists_quotes_and_description() -> None:
    assert canonical_text(MESSY, "detections") == CANONICAL
    assert canonical_text(CANONICAL, "detections") == CANONICAL  # idempotent
    assert split_query_file(CANONICAL) == split_query_file(MESSY)  # same meaning


def test_long_lists_go_one_item_per_line_and_view_and_macro_keys_have_their_own_order() -> None:
    refs = [f"elastic:A rather long rule name number {n}" for n in range(4)]
    text = f"/* ---\nid: q\nreferences: {refs}\ndescription: D\n--- */\nSELECT 1\n"
    assert "references:\n- elastic:A rather long rule name number 0\n- elastic:" in canonical_text(
        text, "metrics"
    )
    view = "/* ---\ndescription: D\ndepends_on: [a]\nid: v\n--- */\nSELECT 1\n"
    assert canonical_text(view, "views").startswith("/* ---\nid: v\ndepends_on: [a]\ndescription: >-\n  D\n")
    macro = "/* ---\ndescription: D\nparameters: [u]\nid: m\n--- */\nu\n"
    assert canonical_text(macro, "macros").startswith("/* ---\nid: m\nparameters: [u]\ndescription: >-\n")


def test_a_description_that_cannot_be_folded_keeps_its_exact_text() -> None:
    text = "/* ---\nid: q\ndescription: 'two  spaces'\n--- */\nSELECT 1\n"
    out = canonical_text(text, "metrics")
    assert "description: two  spaces" in out
    assert split_query_file(out)[0]["description"] == "two  spaces"


def test_check_lists_every_offender_and_fix_rewrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    messy = tmp_path / "detections" / "some-query.sql"
    messy.parent.mkdir()
    messy.write_text(MESSY, encoding="utf-8")
    broken = tmp_path / "detections" / "no-header.sql"
    broken.write_text("SELECT 1\n", encoding="utf-8")
    fine = tmp_path / "detections" / "fine.sql"
    fine.write_text(CANONICAL, encoding="utf-8")

    assert main(["--check", str(messy), str(broken), str(fine)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{messy}: header is not canonical; run python -m kanalytics.catalog.headers --fix",
        f"{broken}: no leading '/* --- ... --- */' YAML header",
    ]
    assert main(["--fix", str(messy), str(fine)]) == 0
    assert capsys.readouterr().out == f"{messy}: rewritten\n"
    assert messy.read_text(encoding="utf-8") == CANONICAL
    assert main(["--check", str(messy), str(fine)]) == 0
