"""The webhooks and create-example commands against a sandbox, under its bearer token."""

from __future__ import annotations

import json

from .conftest import LoopSandbox, invoke


def bearer_env(sandbox: LoopSandbox) -> dict[str, str]:
    return {**sandbox.env(), "VIDEOAPI_BEARER_TOKEN": sandbox.sandbox.bearer_token}


def test_webhook_lifecycle(cli_sandbox: LoopSandbox) -> None:
    """Create prints the secret; list, update, toggles, rotate-secret and delete follow."""
    env = bearer_env(cli_sandbox)
    made = invoke(
        [
            "webhooks",
            "create",
            "--name",
            "renders",
            "--url",
            "https://example.com/hooks",
            "--event",
            "video.ready",
            "--json",
        ],
        env=env,
    )
    assert made.exit_code == 0, made.stderr
    hook = json.loads(made.stdout)
    assert hook["events"] == ["video.ready"]
    assert hook["signing_secret"].startswith("whsec_")
    listed = json.loads(invoke(["webhooks", "list", "--json"], env=env).stdout)
    assert [item["id"] for item in listed] == [hook["id"]]
    assert "signing_secret" not in listed[0]
    table = invoke(["webhooks", "list"], env=env)
    assert hook["id"] in table.stdout
    assert hook["signing_secret"] not in table.stdout
    updated = invoke(
        ["webhooks", "update", hook["id"], "--name", "n2", "--url", "https://e.com/2", "--json"],
        env=env,
    )
    assert json.loads(updated.stdout)["name"] == "n2"
    paused = invoke(["webhooks", "toggle-pause", hook["id"], "--json"], env=env)
    assert json.loads(paused.stdout)["status"] == "paused"
    inactive = invoke(["webhooks", "toggle-active", hook["id"], "--json"], env=env)
    assert json.loads(inactive.stdout)["status"] in ("active", "inactive")
    rotated = invoke(["webhooks", "rotate-secret", hook["id"]], env=env)
    assert rotated.exit_code == 0, rotated.stderr
    assert "signing secret: whsec_" in rotated.stdout
    assert hook["signing_secret"] not in rotated.stdout
    assert invoke(["webhooks", "delete", hook["id"]], env=env).exit_code == 0
    gone = invoke(["webhooks", "get", hook["id"]], env=env)
    assert gone.exit_code == 3
    assert "no such webhook" in gone.stderr
    assert invoke(["webhooks", "delete", hook["id"], "--missing-ok"], env=env).exit_code == 0


def test_bad_input_and_missing_token(cli_sandbox: LoopSandbox) -> None:
    """A bad URL or event exits 2; without the bearer token the message says what to set."""
    env = bearer_env(cli_sandbox)
    bad_url = invoke(["webhooks", "create", "--name", "n", "--url", "ftp://h"], env=env)
    assert bad_url.exit_code == 2
    assert "http" in bad_url.stderr
    bad_event = invoke(
        ["webhooks", "create", "--name", "n", "--url", "https://h", "--event", "x"], env=env
    )
    assert bad_event.exit_code == 2
    no_token = invoke(["webhooks", "list"], env=cli_sandbox.env())
    assert no_token.exit_code != 0
    assert "VIDEOAPI_BEARER_TOKEN" in no_token.stderr


def test_create_example(cli_sandbox: LoopSandbox) -> None:
    """create-example prints the suggested body as JSON, or its curl line with --curl."""
    env = bearer_env(cli_sandbox)
    body = invoke(["create-example", "draft-7", "--type", "override"], env=env)
    assert body.exit_code == 0, body.stderr
    assert json.loads(body.stdout)["type"] == "override"
    curl = invoke(["create-example", "draft-7", "--curl"], env=env)
    assert curl.stdout.startswith("curl ")
    assert invoke(["create-example", "draft-7", "--type", "nope"], env=env).exit_code == 2
