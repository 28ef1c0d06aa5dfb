"""Configuration: the documented example is valid, every key is documented, and mistakes are named."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from kanalytics.config import Settings, load_settings, parse_settings
from kanalytics.errors import ConfigError
from tests.conftest import REPO

DOC = REPO / "docs" / "configuration.md"


def _example() -> dict:
    block = re.search(r"```toml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert block, "docs/configuration.md has no toml example"
    return tomllib.loads(block.group(1))


def test_documented_example_parses() -> None:
    settings = parse_settings(_example())
    assert settings.timezone == "Europe/Berlin"
    assert settings.retention.floor_days == 365
    assert settings.allowlists.query_lists["falco-disallowed-k8s-user"][0].reason


def _keys(model: type, prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        if name == "source":
            continue
        inner = field.annotation
        if isinstance(inner, type) and hasattr(inner, "model_fields"):
            keys.extend(_keys(inner, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


def test_every_key_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [key for key in _keys(Settings) if f"`{key}" not in text]
    assert not missing, f"undocumented configuration keys: {missing}"


def test_mistakes_are_reported_with_the_key(tmp_path: Path) -> None:
    path = tmp_path / "kanalytics.toml"
    path.write_text('timezone = "Mars/Olympus"\n[allowlists]\nadmin_user = []\n', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert str(path) in message and "timezone" in message and "allowlists.admin_user" in message


def test_demo_configuration_is_valid() -> None:
    demo = REPO / "kanalytics" / "report" / "demo_config.toml"
    settings = parse_settings(tomllib.loads(demo.read_text(encoding="utf-8")))
    assert all(entry.reason for entries in settings.allowlists.query_lists.values() for entry in entries)
