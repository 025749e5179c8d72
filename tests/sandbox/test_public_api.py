"""The sandbox's public names, and its independence from the client code."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import videoapi_async.sandbox as sandbox

PACKAGE = Path(sandbox.__file__).parent

EXPECTED = {
    "FAULT_KINDS",
    "ROUTE_KEYS",
    "WEBHOOK_EVENTS",
    "WEBHOOK_FAULT_KINDS",
    "FaultConfig",
    "ManualClock",
    "RenderProfile",
    "RenderTiming",
    "RouteFaults",
    "Sandbox",
    "SandboxConfig",
    "SandboxStats",
    "ServerRateLimit",
    "SimulatedTimeLoop",
    "VoicePreviewProfile",
    "WebhookConfig",
    "WebhookDelivery",
    "config_from_options",
    "run_in_simulated_time",
}


def test_former_names_still_import_with_a_deprecation_warning() -> None:
    """A name cut from __all__ still resolves, warning which name to use instead."""
    from videoapi_async.sandbox._config import ServerRateLimit
    from videoapi_async.sandbox._faults import TokenBucket

    with pytest.warns(DeprecationWarning, match="use videoapi_async.sandbox.ServerRateLimit"):
        assert sandbox.RateLimit is ServerRateLimit  # type: ignore[attr-defined]
    with pytest.warns(DeprecationWarning, match="internal"):
        assert sandbox.TokenBucket is TokenBucket  # type: ignore[attr-defined]
    with pytest.raises(AttributeError, match="no attribute 'Nonesuch'"):
        sandbox.Nonesuch  # type: ignore[attr-defined]  # noqa: B018


def test_all_is_pinned_and_importable() -> None:
    """__all__ lists exactly the public names, each importable from the package."""
    assert set(sandbox.__all__) == EXPECTED
    assert len(sandbox.__all__) == len(EXPECTED)
    for name in sandbox.__all__:
        assert getattr(sandbox, name) is not None


def test_route_keys_and_fault_kinds_are_stable() -> None:
    """Route keys, fault kinds and event names, which tests everywhere spell out, stay put."""
    assert sandbox.ROUTE_KEYS == (
        "GET /videos",
        "POST /videos",
        "GET /videos/{video_id}",
        "GET /videos/{video_id}/metadata",
        "DELETE /videos/{video_id}",
        "POST /videos/{video_id}/subtitles",
        "POST /voice-preview",
        "GET /voice-preview/{task_id}",
        "GET /analytics/summary",
        "GET /webhooks",
        "POST /webhooks",
        "GET /webhooks/{webhook_id}",
        "PUT /webhooks/{webhook_id}",
        "DELETE /webhooks/{webhook_id}",
        "PUT /webhooks/{webhook_id}/secret",
        "PUT /webhooks/{webhook_id}/pause",
        "PUT /webhooks/{webhook_id}/toggle-status",
        "GET /examples/create-video",
    )
    assert sandbox.FAULT_KINDS == (
        "delay",
        "http_429",
        "http_500",
        "http_502",
        "http_503",
        "reset",
        "drop_response",
        "truncated_json",
        "malformed_json",
        "slow_body",
    )
    assert sandbox.WEBHOOK_FAULT_KINDS == ("drop", "duplicate", "bad_signature", "delay")
    assert sandbox.WEBHOOK_EVENTS == ("video.ready", "video.failed")


def _imports_of_the_package(path: Path) -> list[str]:
    """Return the modules of videoapi_async that one file imports."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            assert node.level <= 1, f"{path.name} imports from a parent package"
            module = node.module or ""
            if module.startswith("videoapi_async"):
                found.append(module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("videoapi_async")]
    return found


def test_server_modules_import_only_the_contract_of_the_client() -> None:
    """Sandbox modules import only the client's leaves: the contract and the validators."""
    leaves = {"videoapi_async.contract", "videoapi_async.validators"}
    for path in sorted(PACKAGE.glob("*.py")):
        if path.name == "pytest_plugin.py":
            continue
        modules = _imports_of_the_package(path)
        assert set(modules) <= leaves, f"{path.name}: {modules}"
    for leaf in ("contract.py", "validators.py"):
        assert _imports_of_the_package(PACKAGE.parent / leaf) == [], f"{leaf} imports the package"
