"""The notebooks in notebooks/ run top to bottom on their synthetic archive (they use only the public API) and
show what a responder and an auditor read there: the top incident, its timeline with the findings marked, the
controls of every configured framework, and the plots.

Each notebook runs with a probe cell appended: it prints, as JSON, what the notebook's own variables hold (the
incident it picked, the audit IDs it marked), so the outputs are checked against the data they were drawn from
and, through the synthesiser's truth file, against what was injected.
"""

from __future__ import annotations

import html
import json
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
DEMO_FRAMEWORKS = ["pci-dss-4.0", "soc2", "iso-27001-2022", "nist-800-53-r5", "cis-k8s", "hipaa"]

INVESTIGATE_PROBE = """
import json
truth = json.loads((work / "truth.json").read_text())
member_ids = set(members["audit_id"].drop_nulls())
all_findings = archive.findings_frame(start=start, end=end)
print(json.dumps({
    "id": incident.id,
    "title": incident.title,
    "first_ranked": result.incidents[0].id,
    "members": sorted(member_ids),
    "marked": sorted(set(timeline.filter(pl.col("finding"))["audit_id"])),
    "scenarios": [i["scenario"] for i in truth["incidents"] if member_ids <= set(i["audit_ids"])],
    "allow_listed_deployer_findings": all_findings.filter(
        (pl.col("user_name") == "system:serviceaccount:ci:deployer") & pl.col("source_ip").str.starts_with("20.42.17.")
    ).height,
}))
"""

AUDIT_PROBE = """
import json
print(json.dumps({
    "frameworks": archive.settings.report.frameworks,
    "titles": sorted(set(controls["framework_title"])),
    "checkpoint": checkpoint.text,
    "verified": verification.ok,
}))
"""


def execute(name: str, probe: str) -> tuple[NotebookNode, dict[str, Any]]:
    """Run notebooks/`name` on its synthetic archive with `probe` appended; the notebook and what the probe said."""
    notebook = nbformat.read(REPO / "notebooks" / name, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(probe))
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    ).execute()
    errors = [
        o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors, errors
    return notebook, json.loads(text(notebook.cells[-1]))


def tagged(notebook: NotebookNode, tag: str) -> NotebookNode:
    (cell,) = [c for c in notebook.cells if tag in c.get("metadata", {}).get("tags", [])]
    return cell


def text(cell: NotebookNode) -> str:
    """Everything a cell showed as text: printed lines, plain reprs and the HTML tables (unescaped)."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        data = output.get("data", {})
        parts += [data.get("text/plain", ""), html.unescape(data.get("text/html", ""))]
    return "\n".join(parts)


def images(notebook: NotebookNode) -> list[str]:
    """The tags of the cells that drew a PNG, one entry per image."""
    return [
        tag
        for cell in notebook.cells
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
        for tag in cell.get("metadata", {}).get("tags", ["untagged"])
    ]


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The notebooks take the real-data branch when these are set; the tests run the synthetic one."""
    for variable in ("KANALYTICS_ARCHIVE", "KANALYTICS_CONFIG", "KANALYTICS_MONTH"):
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.slow  # builds and evaluates a 37-day synthetic archive: 40 s on an idle machine
@pytest.mark.usefixtures("clean_environment")
def test_investigate_follows_the_top_incident() -> None:
    notebook, probe = execute("investigate.ipynb", INVESTIGATE_PROBE)
    # The top incident is the injected CI-token takeover, not the allow-listed deployer's routine work.
    assert probe["id"] == probe["first_ranked"]
    assert probe["scenarios"] == ["ci-token-takeover"]
    assert probe["allow_listed_deployer_findings"] == 0
    for tag in ("incidents", "top-incident"):
        assert probe["id"] in text(tagged(notebook, tag))
    assert probe["title"] in text(tagged(notebook, "top-incident"))
    # Every member finding is marked in the timeline, and the table shows each marked request.
    assert probe["marked"] == probe["members"] and probe["members"]
    timeline = text(tagged(notebook, "timeline"))
    assert all(audit_id in timeline for audit_id in probe["marked"])
    assert images(notebook) == ["activity-plot", "heatmap"]
    assert f"kanalytics triage set {probe['id']} --verdict" in text(tagged(notebook, "verdict"))


@pytest.mark.slow  # builds and evaluates a 37-day synthetic archive: 40 s on an idle machine
@pytest.mark.usefixtures("clean_environment")
def test_audit_evidence_covers_every_framework() -> None:
    notebook, probe = execute("audit-evidence.ipynb", AUDIT_PROBE)
    assert probe["frameworks"] == DEMO_FRAMEWORKS
    tally = text(tagged(notebook, "tally"))
    assert all(framework in tally for framework in probe["frameworks"] + probe["titles"])
    assert len(probe["titles"]) == len(DEMO_FRAMEWORKS)
    integrity = text(tagged(notebook, "integrity"))
    assert probe["verified"] and probe["checkpoint"] in integrity
    assert images(notebook) == ["status-plot", "exceptions", "coverage"]


def test_notebooks_are_stored_without_outputs() -> None:
    # outputs would put local paths and (on real archives) audit data into git
    assert [p.name for p in NOTEBOOKS] == ["audit-evidence.ipynb", "investigate.ipynb"]
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code"), path.name


def test_notebooks_use_only_the_public_api() -> None:
    # kanalytics.synth builds the synthetic archive; everything else goes through open_archive's Archive
    for path in NOTEBOOKS:
        source = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        imports = {
            line.strip() for line in source.splitlines() if line.strip().startswith(("import ", "from "))
        }
        kanalytics_imports = {line for line in imports if "kanalytics" in line}
        assert kanalytics_imports == {"import kanalytics", "from kanalytics.synth import generate"}, path.name
