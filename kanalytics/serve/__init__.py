"""The audit webhook receiver (`kanalytics serve`): durable acknowledgement, a spool, a flusher, metrics."""

from kanalytics.serve.config import ServeConfig
from kanalytics.serve.server import build_app, serve

__all__ = ["ServeConfig", "build_app", "serve"]
