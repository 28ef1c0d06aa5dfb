"""The monthly report: context building, charts, rendering (HTML, PDF) and exports (CSV, JSON)."""

from __future__ import annotations

from kanalytics.report.api import FORMATS, ReportOutputs, generate_report, parse_formats, resolve_period

__all__ = ["FORMATS", "ReportOutputs", "generate_report", "parse_formats", "resolve_period"]
