"""Input readers: turn files, folders and stdin into a stream of Records (one candidate Event each).

`files.py` opens and frames inputs (compression, lines, whole documents); each envelope shape (native
Event/EventList, and later EKS, AKS, GKE) is one small module that knows how to unwrap its documents.
"""

from kanalytics.sources.files import Record, expand_paths, read_inputs

__all__ = ["Record", "expand_paths", "read_inputs"]
