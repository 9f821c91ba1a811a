"""PostHog's OAuth scopes: the catalogue, what a client may ask, and what an API call needs.

Read out of PostHog's ``posthog/scopes.py`` (reference posthog-oauth.md sections 2 and 5): the
scope objects, the internal, hidden and privileged ones, the clamping `/authorize` applies
(never a refusal), and `APIScopePermission`'s order of checks for a token on an API request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "ALWAYS_ALLOWED_SCOPES",
    "NO_REQUIRED_SCOPES",
    "OIDC_SCOPES",
    "SCOPES_SUPPORTED",
    "UNPRIVILEGED_SCOPES",
    "clamp",
    "filter_to_unprivileged",
    "missing_scope",
]

_OBJECTS = [
    "action",
    "access_control",
    "account",
    "activity_log",
    "alert",
    "annotation",
    "approvals",
    "batch_export",
    "batch_import",
    "batch_import_support",
    "billing",
    "business_knowledge",
    "canvas",
    "clickhouse_test_cluster_perf",
    "cohort",
    "comment",
    "conversation",
    "customer_analytics",
    "customer_task",
    "customer_journey",
    "customer_profile_config",
    "data_catalog",
    "data_catalog_approval",
    "dashboard",
    "event_filter",
    "dashboard_template",
    "dataset",
    "early_access_feature",
    "endpoint",
    "engineering_analytics",
    "error_tracking",
    "evaluation",
    "element",
    "event_definition",
    "experiment",
    "experiment_holdout",
    "experiment_saved_metric",
    "export",
    "external_data_schema",
    "external_data_source",
    "feature_flag",
    "file_system",
    "file_system_shortcut",
    "group",
    "health_issue",
    "heatmap",
    "hog_flow",
    "hog_function",
    "ingestion_warning",
    "insight",
    "insight_variable",
    "integration",
    "interactive_run",
    "internal_run",
    "legal_document",
    "link",
    "live_debugger",
    "llm_analytics",
    "ai_observability_clusters",
    "llm_gateway",
    "llm_playground",
    "llm_prompt",
    "llm_provider_key",
    "llm_skill",
    "logs",
    "loop",
    "loop_context_internal",
    "marketing_analytics",
    "mcp_builtin_agent",
    "mcp_analytics",
    "metrics",
    "notebook",
    "organization",
    "organization_integration",
    "organization_member",
    "person",
    "plugin",
    "product_enablement",
    "product_tour",
    "project",
    "property_definition",
    "query",
    "query_performance",
    "replay_scanner",
    "review_hog",
    "revenue_analytics",
    "session_recording",
    "session_recording_playlist",
    "sharing_configuration",
    "signal_scout",
    "signal_scout_internal",
    "signal_scout_report",
    "signal_scratchpad_internal",
    "stamphog",
    "streamlit_app",
    "subscription",
    "survey",
    "tagger",
    "ticket",
    "task",
    "toolbar",
    "tracing",
    "field_note",
    "uploaded_media",
    "usage_metric",
    "user",
    "user_interview",
    "vision_action",
    "vision_alert",
    "visual_review",
    "warehouse_objects",
    "warehouse_table",
    "warehouse_view",
    "web_analytics",
    "webhook",
    "wizard_session",
]
"""`APIScopeObject`, in PostHog's order (scopes.py@003fd01f)."""
_INTERNAL = frozenset(
    [
        "clickhouse_test_cluster_perf",
        "interactive_run",
        "internal_run",
        "loop_context_internal",
        "mcp_builtin_agent",
        "signal_scout_internal",
        "signal_scout_report",
        "signal_scratchpad_internal",
    ]
)
"""Minted server-side only; never grantable through OAuth."""
_HIDDEN = frozenset({"wizard_session", "query_performance", "batch_import_support"})
"""Grantable to personal API keys, never advertised or granted through OAuth."""
_PRIVILEGED = frozenset({"llm_gateway:read", "llm_gateway:write"})

NO_REQUIRED_SCOPES = "This action does not support personal API key access"
"""`APIScopePermission`'s 403 for an action that declares no scope, to scoped personal keys and
OAuth tokens alike (posthog-oauth.md section 5; older PostHog capitalised "Personal API Key")."""
OIDC_SCOPES = ("openid", "profile", "email")
ALWAYS_ALLOWED_SCOPES = frozenset({*OIDC_SCOPES, "introspection"})
"""Accepted at /authorize whatever the app's ceiling (`ALWAYS_ALLOWED_SCOPES`)."""
_PUBLIC = [
    f"{obj}:{action}"
    for obj in _OBJECTS
    if obj not in _INTERNAL and obj not in _HIDDEN
    for action in ("read", "write")
]
UNPRIVILEGED_SCOPES = frozenset(_PUBLIC) - _PRIVILEGED
"""What a generic OAuth client may be granted; an app with no ceiling gets this one."""
SCOPES_SUPPORTED = [*OIDC_SCOPES, *(scope for scope in _PUBLIC if scope in UNPRIVILEGED_SCOPES)]
"""The metadata's `scopes_supported`: the OIDC scopes, then every unprivileged scope."""


def filter_to_unprivileged(scopes: Iterable[object]) -> list[str]:
    """`filter_to_unprivileged_scopes`: known, unprivileged, public strings, deduplicated."""
    kept: list[str] = []
    for scope in scopes:
        if isinstance(scope, str) and scope in UNPRIVILEGED_SCOPES and scope not in kept:
            kept.append(scope)
    return kept


def _grantable(ceiling: Sequence[str]) -> frozenset[str]:
    """The ceiling with the read half of each write scope (`grantable_ceiling`)."""
    scopes = set(ceiling) or set(UNPRIVILEGED_SCOPES)
    reads = {scope.removesuffix(":write") + ":read" for scope in scopes if scope.endswith(":write")}
    return frozenset(scopes | reads)


def clamp(requested: str | None, ceiling: Sequence[str]) -> list[str]:
    """What /authorize grants for a requested scope string: never a refusal (`validate_scopes`).

    Scopes outside the app's ceiling (empty: every unprivileged scope) are dropped; when nothing
    grantable is left, or nothing was asked, the answer is the whole ceiling plus the OIDC and
    introspection scopes. ``*`` is kept only under an empty ceiling (legacy), else it becomes
    the ceiling.
    """
    allowed = _grantable(ceiling) | ALWAYS_ALLOWED_SCOPES
    granted: list[str] = []
    for scope in (requested or "").split():
        if scope == "*":
            extra = ["*"] if not ceiling else list(ceiling)
        else:
            extra = [scope] if scope in allowed else []
        granted.extend(item for item in extra if item not in granted)
    if not [scope for scope in granted if scope not in ALWAYS_ALLOWED_SCOPES]:
        whole = sorted(ceiling) if ceiling else [s for s in SCOPES_SUPPORTED if ":" in s]
        return [*OIDC_SCOPES, "introspection", *whole]
    return granted


def missing_scope(granted: Sequence[str], required: str | None) -> str | None:
    """Why `APIScopePermission` refuses a token for an endpoint that needs `required`, or None.

    Args:
        granted: the token's scopes.
        required: the scope the action needs (``conversation:read``); None for an action
            that declares none (PostHog's custom actions), which tokens may never call.
    """
    if not granted:
        return "OAuth token has no scopes and cannot access this resource"
    if required is None:
        return NO_REQUIRED_SCOPES
    if "*" in granted:
        return None
    accepted = {required}
    if required.endswith(":read"):
        accepted.add(required.removesuffix(":read") + ":write")
    if accepted.isdisjoint(granted):
        return f"API key missing required scope '{required}'"
    return None
