"""Sigma rules for Kubernetes audit logs turned into catalog queries (`kanalytics sigma convert`), via pySigma."""

from kanalytics.sigma.convert import Conversion, Skipped, Written, convert_rules

__all__ = ["Conversion", "Skipped", "Written", "convert_rules"]
