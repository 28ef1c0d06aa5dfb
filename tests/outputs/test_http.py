"""The answer-reading helpers alert sinks and the HEC client share: where a request went, and Retry-After."""

from __future__ import annotations

import pytest

from kanalytics.errors import ConfigError
from kanalytics.outputs.hec import HecClient
from kanalytics.outputs.http import netloc, retry_after


def test_netloc_shows_host_and_port_only() -> None:
    assert netloc("https://user:secret@splunk.example.com:8088/services?token=x") == "splunk.example.com:8088"
    assert netloc("http://[2001:db8::1]:9093/api") == "[2001:db8::1]:9093"
    assert netloc("http://hooks.example/T0/B0/secret") == "hooks.example"
    assert netloc("http://h:notaport/") == "?" and netloc("not a url") == "?"


def test_retry_after_caps_per_caller() -> None:
    assert retry_after("999999", cap=600.0) == 600.0
    assert retry_after("1.5") == 1.5


def test_a_hec_url_with_a_bad_port_is_refused() -> None:
    with pytest.raises(ConfigError, match="is not an http"):
        HecClient("https://splunk.example.com:88x8", "token")
