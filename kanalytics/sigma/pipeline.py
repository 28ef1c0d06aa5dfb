"""The pySigma processing pipeline for Kubernetes audit rules: which rules it takes, and how Sigma's field
names become the archive's columns.

Sigma names a Kubernetes audit field by its path in the audit.k8s.io/v1 Event (`objectRef.resource`,
`user.username`, `responseStatus.code`); SigmaHQ's rules also use a few short names (`apiGroup`, `hostPath`,
`capabilities`). `COLUMNS` is the one table of what each name reads: an `events` column, or for the short
names an expression over the request body. A rule naming any other field is refused with that field named,
so a rule is never converted with a condition silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaTransformationError
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import FieldMappingTransformation
from sigma.processing.transformations.base import DetectionItemTransformation, PreprocessingTransformation
from sigma.rule import SigmaDetectionItem, SigmaRule

from kanalytics.vocabulary import AuditLevel

# "text": a string column; "integer": a number; "list": a list of strings, matched when any element matches.
ColumnKind = Literal["text", "integer", "list"]

LOGSOURCE_PRODUCT = "kubernetes"
LOGSOURCE_SERVICE = "audit"


@dataclass(frozen=True)
class Column:
    """What a Sigma field reads: `sql`, an expression over the `events` view, of `kind`; `needs_level`, the
    audit level at which the API server records it."""

    sql: str
    kind: ColumnKind
    sigma: tuple[str, ...]  # the Sigma field names that read it
    description: str
    needs_level: AuditLevel = "Metadata"


def _pod_spec_list(path: str) -> str:
    return f"json_extract_string(request_object, '$.spec.{path}')"


COLUMNS: dict[str, Column] = {
    "audit_id": Column("audit_id", "text", ("auditID",), "the request's auditID"),
    "stage": Column(
        "stage", "text", ("stage",), "RequestReceived | ResponseStarted | ResponseComplete | Panic"
    ),
    "level": Column("level", "text", ("level",), "the audit level of the event"),
    "verb": Column("verb", "text", ("verb",), "the Kubernetes verb (get, list, create, patch, ...)"),
    "request_uri": Column("request_uri", "text", ("requestURI",), "path and query string"),
    "user_name": Column("user_name", "text", ("user.username",), "the authenticated identity"),
    "user_uid": Column("user_uid", "text", ("user.uid",), "the identity's uid"),
    "user_groups": Column("user_groups", "list", ("user.groups",), "the identity's groups"),
    "impersonated_user": Column(
        "impersonated_user", "text", ("impersonatedUser.username",), "the impersonated identity"
    ),
    "impersonated_groups": Column(
        "impersonated_groups", "list", ("impersonatedUser.groups",), "the impersonated groups"
    ),
    "source_ips": Column(
        "source_ips", "list", ("sourceIPs",), "every sourceIPs entry (all but the last are client-set)"
    ),
    "user_agent": Column("user_agent", "text", ("userAgent",), "the client-supplied user agent"),
    "resource": Column("resource", "text", ("objectRef.resource",), "the resource (pods, secrets, ...)"),
    "subresource": Column("subresource", "text", ("objectRef.subresource",), "exec, log, status, ..."),
    "namespace": Column("namespace", "text", ("objectRef.namespace",), "the object's namespace"),
    "object_name": Column("object_name", "text", ("objectRef.name",), "the object's name"),
    "object_uid": Column("object_uid", "text", ("objectRef.uid",), "the object's uid"),
    "api_group": Column(
        "api_group", "text", ("objectRef.apiGroup", "apiGroup"), "the API group ('' for the core group)"
    ),
    "api_version": Column("api_version", "text", ("objectRef.apiVersion",), "the API version"),
    "response_code": Column("response_code", "integer", ("responseStatus.code",), "the HTTP status"),
    "response_reason": Column("response_reason", "text", ("responseStatus.reason",), "the status reason"),
    "authz_decision": Column(
        "authz_decision",
        "text",
        ("annotations.authorization.k8s.io/decision",),
        "the authorizer's decision (allow, forbid)",
    ),
    "authz_reason": Column(
        "authz_reason", "text", ("annotations.authorization.k8s.io/reason",), "why the authorizer decided"
    ),
    "request_object": Column(
        "request_object", "text", ("requestObject",), "the request body as JSON text", "Request"
    ),
    "response_object": Column(
        "response_object",
        "text",
        ("responseObject",),
        "the response body as JSON text",
        "RequestResponse",
    ),
    "host_paths": Column(
        _pod_spec_list("volumes[*].hostPath.path"),
        "list",
        ("hostPath",),
        "the hostPath volume paths of a pod in the request body",
        "Request",
    ),
    "capabilities": Column(
        "list_concat("
        + ", ".join(
            _pod_spec_list(f"{containers}[*].securityContext.capabilities.add[*]")
            for containers in ("containers", "initContainers", "ephemeralContainers")
        )
        + ")",
        "list",
        ("capabilities",),
        "the Linux capabilities a pod's containers add, from the request body",
        "Request",
    ),
}

# Sigma field name -> COLUMNS key.
FIELDS: dict[str, str] = {sigma: key for key, column in COLUMNS.items() for sigma in column.sigma}


@dataclass
class RequireKubernetesAudit(PreprocessingTransformation):
    """Refuse a rule whose logsource is not Kubernetes audit, saying which logsource it has."""

    def apply(self, rule: SigmaRule | SigmaCorrelationRule) -> None:
        super().apply(rule)
        if not isinstance(rule, SigmaRule):
            return
        source = rule.logsource
        if source.product == LOGSOURCE_PRODUCT and source.service == LOGSOURCE_SERVICE:
            return
        shown = ", ".join(
            f"{name}: {value}"
            for name, value in (
                ("category", source.category),
                ("product", source.product),
                ("service", source.service),
            )
            if value
        )
        raise SigmaTransformationError(
            f"unsupported logsource ({shown or 'none'}): only logsource product: {LOGSOURCE_PRODUCT}, "
            f"service: {LOGSOURCE_SERVICE} rules read Kubernetes audit events",
            source=rule.source,
        )


@dataclass
class RequireKnownFields(DetectionItemTransformation):
    """Refuse a detection item on a field the archive does not have, naming the field and the known ones."""

    def apply_detection_item(self, detection_item: SigmaDetectionItem) -> None:
        name = detection_item.field
        if name is None or name in FIELDS:  # keywords (no field) are refused by the backend, with its reason
            return
        raise SigmaTransformationError(
            f"field {name!r} has no archive column: the Kubernetes audit fields kanalytics maps are listed in "
            "docs/sigma.md",
            source=detection_item.source,
        )


def kubernetes_audit_pipeline() -> ProcessingPipeline:
    """The pipeline `ArchiveBackend` converts with: logsource check, field check, then the field mapping."""
    mapping: dict[str | None, str | list[str]] = {sigma: key for sigma, key in FIELDS.items()}
    return ProcessingPipeline(
        name="kanalytics Kubernetes audit",
        priority=20,
        items=[
            ProcessingItem(identifier="kanalytics_logsource", transformation=RequireKubernetesAudit()),
            ProcessingItem(identifier="kanalytics_known_fields", transformation=RequireKnownFields()),
            ProcessingItem(
                identifier="kanalytics_field_mapping",
                transformation=FieldMappingTransformation(mapping),
            ),
        ],
    )
