"""The Slack app manifest asks for exactly what the bot uses, and points everything at the one events URL."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML is not installed; the manifest is not checked")

MANIFEST = Path(__file__).resolve().parent.parent / "manifest" / "slack.yaml"
EVENTS_URL = "https://YOUR-HOST/slack/events"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_it_is_a_version_one_manifest_for_the_policy_assistant(manifest):
    assert manifest["_metadata"] == {"major_version": 1, "minor_version": 1}
    assert manifest["display_information"]["name"] == "Policy Assistant"
    assert 0 < len(manifest["display_information"]["description"]) <= 140
    assert manifest["features"]["bot_user"] == {"display_name": "policy-assistant", "always_online": True}


def test_it_asks_for_exactly_the_scopes_the_bot_uses(manifest):
    assert manifest["oauth_config"]["scopes"] == {"bot": [
        "app_mentions:read", "channels:history", "chat:write", "commands", "groups:history", "im:history",
        "im:read", "im:write", "users:read"]}


# The bot scopes each Web API method the bot calls needs (from api.slack.com/methods). conversations.history needs
# the one for the kind of conversation read: an alert channel may be public or private, and a reporter's is a DM.
METHOD_SCOPES = {
    "chat_postMessage": {"chat:write"}, "chat_update": {"chat:write"}, "chat_postEphemeral": {"chat:write"},
    "conversations_open": {"im:write"}, "conversations_history": {"channels:history", "groups:history",
                                                                  "im:history"},
    "users_info": {"users:read"}, "views_open": set(), "views_publish": set(),
    "issue_new_wss_url": set(),  # Socket Mode: the app-level token's connections:write, not a bot scope
}


def test_every_web_api_method_the_code_calls_is_covered_by_the_manifests_scopes(manifest):
    code = "\n".join(p.read_text(encoding="utf-8") for p in (MANIFEST.parent.parent / "bot").rglob("*.py"))
    called = set(re.findall(r"client\.([A-Za-z_]+)\(", code))
    assert called, "no Web API calls found: the pattern no longer matches the code"
    unknown = called - set(METHOD_SCOPES)
    assert not unknown, f"add these methods and their scopes to METHOD_SCOPES: {sorted(unknown)}"
    needed = set().union(*(METHOD_SCOPES[m] for m in called))
    assert needed <= set(manifest["oauth_config"]["scopes"]["bot"])


def test_it_hears_mentions_direct_messages_and_the_home_tab(manifest):
    events = manifest["settings"]["event_subscriptions"]
    assert events == {"request_url": EVENTS_URL, "bot_events": ["app_home_opened", "app_mention", "message.im"]}
    assert manifest["features"]["app_home"] == {"home_tab_enabled": True, "messages_tab_enabled": True,
                                                "messages_tab_read_only_enabled": False}


def test_it_has_the_two_slash_commands(manifest):
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == {"/policy", "/report"}
    assert commands["/policy"]["usage_hint"] == "Can I accept a parent's friend request?"
    assert all(c["url"] == EVENTS_URL and c["should_escape"] is False and c["description"]
               for c in commands.values())


def test_buttons_reach_the_bot_over_http(manifest):
    settings = manifest["settings"]
    assert settings["interactivity"] == {"is_enabled": True, "request_url": EVENTS_URL}
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False and settings["token_rotation_enabled"] is False


def test_the_socket_mode_manifest_is_the_same_app_with_socket_mode_on_and_no_urls(manifest):
    socket = yaml.safe_load((MANIFEST.parent / "slack-socket.yaml").read_text(encoding="utf-8"))

    def without_urls(node):
        if isinstance(node, dict):
            return {k: without_urls(v) for k, v in node.items() if k not in ("url", "request_url")}
        return [without_urls(v) for v in node] if isinstance(node, list) else node

    expected = without_urls(manifest)
    expected["settings"]["socket_mode_enabled"] = True
    assert socket == expected
    assert '"url"' not in json.dumps(socket) and '"request_url"' not in json.dumps(socket)
