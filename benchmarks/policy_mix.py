"""Write queries/policy/traffic-mix.json: the request mix of a synthetic cluster that `kanalytics policy check`
prices a policy on, and print the bytes per event by level that it uses.

    .venv/bin/python benchmarks/policy_mix.py [EVENTS]   # default 50,000 events over 3 days, seed 0
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    events = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synth.jsonl"
        subprocess.run(
            [sys.executable, "-m", "kanalytics", "synth", "-o", str(path), "-n", str(events), "--days", "3"],
            check=True,
            capture_output=True,
        )
        mix: collections.Counter[tuple[object, ...]] = collections.Counter()
        sizes: dict[str, list[int]] = collections.defaultdict(list)
        for line in path.open(encoding="utf-8"):
            event = json.loads(line)
            ref = event.get("objectRef") or {}
            user = event.get("user") or {}
            sizes[event["level"]].append(len(line.encode()))
            path_only = "" if ref else event.get("requestURI", "").split("?")[0]
            mix[(user.get("username", ""), tuple(user.get("groups", [])), event["verb"], ref.get("apiGroup", ""),
                 ref.get("resource", ""), ref.get("subresource", ""), ref.get("namespace", ""), path_only)] += 1  # fmt: skip
    rows = [
        {
            "user": k[0],
            "groups": list(k[1]),
            "verb": k[2],
            "group": k[3],
            "resource": k[4],
            "subresource": k[5],
            "namespace": k[6],
            "path": k[7],
            "count": n,
        }
        for k, n in sorted(mix.items(), key=lambda item: (-item[1], str(item[0])))
    ]
    out = ROOT / "queries" / "policy" / "traffic-mix.json"
    note = f"kanalytics synth -n {events} --days 3 --seed 0, one row per request shape (benchmarks/policy_mix.py)"
    lines = ",\n".join(json.dumps(row, separators=(",", ":")) for row in rows)
    out.write_text(f'{{"source": {json.dumps(note)},\n"requests": [\n{lines}\n]}}\n', encoding="utf-8")
    print(f"{len(rows)} request shapes from {events:,} events -> {out.relative_to(ROOT)}")
    for level, values in sorted(sizes.items()):
        print(f"{level}: {len(values):,} events, {sum(values) / len(values):,.0f} bytes per event on average")


if __name__ == "__main__":
    main()
