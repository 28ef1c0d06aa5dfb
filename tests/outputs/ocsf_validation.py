"""Validate an OCSF record against the schema subset bundled in kanalytics/outputs/formats/ocsf_schema/.

Test-side only: it uses jsonschema (a dev dependency), so the runtime never imports it. The JSON Schemas carry
what OCSF 1.1.0 says about the attributes kanalytics writes (required attributes, types, enums of the *_id
attributes, at-least-one constraints, no attributes the class does not define); the checks OCSF states in
prose and JSON Schema cannot (type_uid = class_uid * 100 + activity_id, the activity name of an activity_id)
are made here.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

import kanalytics.outputs.formats as formats

SCHEMA_DIR = Path(formats.__file__).parent / "ocsf_schema"
CLASS_SCHEMAS = {6003: "api_activity.schema.json", 2004: "detection_finding.schema.json"}
# activity_id -> activity_name per class, as the class files define them (99 Other: the source's own name).
ACTIVITY_NAMES = {
    6003: {0: "Unknown", 1: "Create", 2: "Read", 3: "Update", 4: "Delete"},
    2004: {0: "Unknown", 1: "Create", 2: "Update", 3: "Close"},
}


def validate(record: dict[str, Any]) -> list[str]:
    """The problems of `record` as messages `path: problem` (empty: valid)."""
    class_uid = record.get("class_uid")
    if class_uid not in CLASS_SCHEMAS:
        return [f"class_uid: {class_uid!r} is not one of the bundled classes {sorted(CLASS_SCHEMAS)}"]
    errors = sorted(
        _validator(CLASS_SCHEMAS[class_uid]).iter_errors(record), key=lambda e: list(e.absolute_path)
    )
    problems = [f"{'.'.join(str(p) for p in e.absolute_path) or '(record)'}: {e.message}" for e in errors]
    activity = record.get("activity_id")
    if isinstance(activity, int) and record.get("type_uid") != class_uid * 100 + activity:
        problems.append(f"type_uid: {record.get('type_uid')!r} is not class_uid * 100 + activity_id")
    expected = ACTIVITY_NAMES[class_uid].get(activity) if isinstance(activity, int) else None
    if expected and record.get("activity_name", expected) != expected:
        problems.append(f"activity_name: {record.get('activity_name')!r} is not {expected!r}")
    return problems


@cache
def _validator(name: str) -> Draft202012Validator:
    resources = [Resource.from_contents(json.loads(p.read_text())) for p in sorted(SCHEMA_DIR.glob("*.json"))]
    registry: Registry = Registry().with_resources((str(r.id()), r) for r in resources)
    schema = json.loads((SCHEMA_DIR / name).read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())
