"""Secrets of sinks and the HEC export come from a file or an environment variable, and never show in errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kanalytics.config import Secret, parse_settings, read_secret
from kanalytics.errors import ConfigError

VALUE = "xoxb-super-secret-42"


def test_a_secret_is_read_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "token").write_text(f"  {VALUE}\n")
    assert read_secret(Secret(file=str(tmp_path / "token")), "sink 'a' token") == VALUE
    monkeypatch.setenv("KA_SECRET_TEST", VALUE + "\n")
    assert read_secret(Secret(env="KA_SECRET_TEST"), "sink 'a' token") == VALUE


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: Secret(), "sink 'a' token: give exactly one of `file` or `env`"),
        (
            lambda d: Secret(file=str(d / "token"), env="KA_SECRET_TEST"),
            "give exactly one of `file` or `env`",
        ),
        (lambda d: Secret(file=str(d / "missing")), "sink 'a' token: cannot read"),
        (lambda d: Secret(env="KA_SECRET_UNSET"), "sink 'a' token: $KA_SECRET_UNSET is not set"),
        (lambda d: Secret(env="KA_SECRET_EMPTY"), "sink 'a' token: $KA_SECRET_EMPTY is empty"),
    ],
)
def test_an_unusable_secret_is_an_error_naming_where_it_was_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: object, message: str
) -> None:
    (tmp_path / "token").write_text(VALUE)
    monkeypatch.setenv("KA_SECRET_TEST", VALUE)
    monkeypatch.setenv("KA_SECRET_EMPTY", "  \n")
    monkeypatch.delenv("KA_SECRET_UNSET", raising=False)
    with pytest.raises(ConfigError) as caught:
        read_secret(make(tmp_path), "sink 'a' token")  # type: ignore[operator]
    assert message in str(caught.value)
    assert VALUE not in str(caught.value)


def test_a_slack_url_must_be_a_secret_and_sink_names_are_unique() -> None:
    with pytest.raises(ConfigError, match="a Slack webhook URL is a secret"):
        parse_settings(
            {"alerts": {"sinks": [{"name": "s", "type": "slack", "url": "https://hooks.slack.com/x"}]}}
        )
    with pytest.raises(ConfigError, match="sink names must be unique: a"):
        parse_settings({"alerts": {"sinks": [{"name": "a", "type": "webhook", "url": "http://h/"}] * 2}})
    with pytest.raises(ConfigError, match="give exactly one of `url` or `url_secret`"):
        parse_settings({"alerts": {"sinks": [{"name": "a", "type": "webhook"}]}})
    with pytest.raises(ConfigError, match="is not an http"):
        parse_settings({"alerts": {"sinks": [{"name": "a", "type": "webhook", "url": "file:///etc/passwd"}]}})
