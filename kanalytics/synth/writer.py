"""Output: JSON lines to a plain, gzip or zstd file, compressed on a background thread to use the second core."""

from __future__ import annotations

import gzip
import queue
import threading
from pathlib import Path
from typing import IO, Any

import zstandard


class LineWriter:
    """Accepts chunks of bytes; a bounded queue keeps memory flat while the thread compresses and writes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.raw: IO[bytes] = open(path, "wb")  # noqa: SIM115 (closed in close())
        name = path.name.lower()
        self.sink: Any
        if name.endswith(".gz"):
            # mtime=0 and no file name in the header: the same seed gives the same bytes
            self.sink = gzip.GzipFile(filename="", mode="wb", fileobj=self.raw, compresslevel=2, mtime=0)
        elif name.endswith(".zst"):
            self.sink = zstandard.ZstdCompressor(level=3).stream_writer(self.raw, closefd=False)
        else:
            self.sink = self.raw
        self.bytes = 0
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=8)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="synth-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self.sink.write(chunk)
                except BaseException as exc:  # reported to the producer on the next write or close
                    self._error = exc

    def write(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self.bytes += len(chunk)
        self._queue.put(chunk)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        try:
            if self.sink is not self.raw:
                self.sink.close()
        finally:
            self.raw.close()
        if self._error is not None:
            raise self._error
