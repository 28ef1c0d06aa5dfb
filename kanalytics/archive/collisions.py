"""auditID collisions across the days of a cluster, for the ingest summary.

Dedupe works per partition (a duplicate is the same event, so it falls on the same day), but an auditID and
stage reused with different content on two different days is a collision too: the detection
`integrity-audit-id-conflict` groups by cluster, auditID and stage over the whole period. `DayIndex` lets
ingest count those, for the days it has loaded: it holds the (auditID, stage) keys of the partitions whose
dedupe state is resident, and forgets a partition's keys when ingest evicts it, so its memory follows the
dedupe state's bound (MAX_TRACKED_EVENTS), not the archive's size.
"""

from __future__ import annotations

# A key's days: one day as an int (day * 2 + 1 if archived before this run), or {day: archived} once a key
# is seen on two days or more.
_Days = int | dict[int, bool]


class DayIndex:
    """(auditID, stage) keys of one cluster -> the days that hold them, and whether archived before this run.

    `observe` returns how many collisions one more (key, day) adds to the run's count: a key's copies on
    distinct days, minus one, minus the collisions the archive already held among its archived days. Keys are
    Python hashes of (auditID, stage), as in the partition's dedupe state.
    """

    __slots__ = ("by_key",)

    def __init__(self) -> None:
        self.by_key: dict[int, _Days] = {}

    def observe(self, key: int, day: int, archived: bool) -> int:
        known = self.by_key.get(key)
        if known is None:
            self.by_key[key] = day * 2 + int(archived)
            return 0
        days = {known >> 1: bool(known & 1)} if isinstance(known, int) else known
        if day in days:
            return 0  # the same day: the partition's own dedupe state counts it
        had_archived = any(days.values())
        fresh_days = sum(1 for a in days.values() if not a)
        days[day] = archived
        self.by_key[key] = days
        if not archived:
            return 1
        return 1 if not had_archived and fresh_days else 0

    def forget(self, keys: list[int], day: int) -> None:
        """Drop one day's keys (its partition was evicted)."""
        for key in keys:
            known = self.by_key.get(key)
            if known is None:
                continue
            if isinstance(known, int):
                if known >> 1 == day:
                    del self.by_key[key]
                continue
            known.pop(day, None)
            if len(known) == 1:
                ((only, archived),) = known.items()
                self.by_key[key] = only * 2 + int(archived)
            elif not known:
                del self.by_key[key]
