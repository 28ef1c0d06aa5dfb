"""A malformed body costs milliseconds to quarantine, not seconds: scrubbing is linear in the body."""

from __future__ import annotations

import time

from kanalytics.archive.scrub import scrub_text
from kanalytics.serve import intake, spool


def test_a_64_kib_run_of_letters_is_scrubbed_in_linear_time() -> None:
    junk = b'{"kind":"EventList","items":[' + b"x" * 200_000  # 64 KiB kept: took 8.8 s before the fix
    started = time.perf_counter()
    kind, _, payload = intake.problem_entry("bad", junk)
    assert kind == spool.PROBLEM
    assert time.perf_counter() - started < 0.5
    assert payload.startswith(b"bad\0{") and len(payload) == 4 + 64 * 1024


def test_url_passwords_are_still_scrubbed_wherever_the_scheme_run_starts() -> None:
    for text in (
        "see https://u:hunter2@h/x",
        "1http://u:hunter2@h",
        "x-git+ssh://u:hunter2@h",
        "a,ftp://u:hunter2@h",
    ):
        assert "hunter2" not in scrub_text(text), text
