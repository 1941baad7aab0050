"""The Teams channel: Bot Framework activities through botbuilder's CloudAdapter, converted to the core's neutral
events; replies rendered as Adaptive Cards. No dialog or policy logic lives here, and botbuilder stays inside this
module and its two neighbours, so moving to Microsoft's successor SDK is a change here only.

Dialogs always continue in the person's personal chat with the bot, even when started from a channel, so nothing
a reporter types is shown to a team. Questions asked in a channel are answered in their thread.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from botbuilder.core import CardFactory, InvokeResponse, TurnContext
from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication
from botbuilder.schema import Activity, ActivityTypes, CallerIdConstants
from botframework.connector.auth import AuthenticationConstants
from msrest.exceptions import ClientRequestError
from sqlmodel import Session

from bot import escalation, late_replies
from bot.channels import teams_cards as cards
from bot.channels.teams_connector import Connector
from bot.channels.teams_sender import NOT_MET
from bot.conversation import Conversation, Inbound
from bot.delivery import RetryLater, Undeliverable
from bot.escalation import Person
from bot.store import addresses, outbox
from bot.store.drafts import load_draft
from bot.store.errors import unless_unavailable
from bot.store.reports import find_report
from dialogs.replies import Reply, Text

log = logging.getLogger(__name__)
EXECUTE = "adaptiveCard/action"  # the invoke an Action.Execute button sends
AUTH_TIMEOUT = 15.0  # seconds to check a token, fetching the Bot Framework's keys included
_AUTH_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="teams-auth")  # not the database's threads
FILE_TYPES = ("image/", "video/", "audio/", "application/vnd.microsoft.teams.file")
CARD_TYPE = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True, slots=True)
class TeamsSettings:
    """The bot's Microsoft app registration, from the environment; an empty app id means no authentication."""

    app_id: str = ""
    password: str = ""
    app_type: str = "MultiTenant"
    tenant_id: str = ""
    # Where the Bot Framework's token signing keys are published. Empty: Microsoft's public cloud. Set only for a
    # sovereign cloud, or in tests that sign tokens with keys of their own.
    openid_metadata_url: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "TeamsSettings":
        """From MICROSOFT_APP_ID, MICROSOFT_APP_PASSWORD, MICROSOFT_APP_TYPE, MICROSOFT_APP_TENANT_ID and
        MICROSOFT_OPENID_METADATA_URL."""
        return cls(env.get("MICROSOFT_APP_ID", "").strip(), env.get("MICROSOFT_APP_PASSWORD", ""),
                   env.get("MICROSOFT_APP_TYPE", "").strip() or "MultiTenant",
                   env.get("MICROSOFT_APP_TENANT_ID", "").strip(),
                   env.get("MICROSOFT_OPENID_METADATA_URL", "").strip())

    @property
    def authenticated(self) -> bool:
        """Whether requests must carry a valid Bot Framework token."""
        return bool(self.app_id)


class _AdapterConfig:
    """The attribute names botbuilder's configuration objects are read by."""

    def __init__(self, settings: TeamsSettings):
        self.APP_ID = settings.app_id
        self.APP_PASSWORD = settings.password
        self.APP_TYPE = settings.app_type
        self.APP_TENANTID = settings.tenant_id
        if settings.openid_metadata_url:
            # Any one of these switches botbuilder to its parameterised authentication, which then needs them all:
            # the public cloud's values, but the signing keys from the given metadata.
            self.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL = settings.openid_metadata_url
            self.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER = AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER
            self.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL = \
                AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL
            self.TO_CHANNEL_FROM_BOT_LOGIN_URL = AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX
            self.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE = AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE
            self.OAUTH_URL = AuthenticationConstants.OAUTH_URL
            self.CALLER_ID = CallerIdConstants.public_azure_channel


def _quicker_retry_policy() -> None:
    """botbuilder makes a new connector client and a new token client for every activity, and each one's msrest
    configuration builds a ClientRetryPolicy, whose __init__ tests 999 status codes for membership of a 500-item
    list: about 3 ms of CPU on the event loop per client, nearly a quarter of the server's CPU under
    bench/load.py. The same codes held in a frozenset give the same retry list in a hundredth of the time. msrest is
    deprecated and takes no more fixes (Azure/msrest-for-python#266 proposed this one)."""
    from msrest.universal_http.requests import ClientRetryPolicy

    if not isinstance(ClientRetryPolicy.safe_codes, frozenset):
        ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)


def build_adapter(settings: TeamsSettings) -> CloudAdapter:
    """botbuilder's CloudAdapter for these credentials."""
    _quicker_retry_policy()
    adapter = CloudAdapter(ConfigurationBotFrameworkAuthentication(_AdapterConfig(settings)))

    async def on_error(turn: TurnContext, error: Exception) -> None:
        # No message text in the log: only what failed and where. The connector being away needs no traceback.
        away = isinstance(error, (ClientRequestError, ConnectionError, TimeoutError))
        log.error("teams turn failed: %s", type(error).__name__, exc_info=None if away else error)
        try:
            await turn.send_activity("Sorry, something went wrong on my side. Please try again in a moment.")
        except Exception:  # noqa: BLE001 (the connector itself may be what failed)
            log.warning("teams: could not say sorry after a failed turn")

    adapter.on_turn_error = on_error
    return adapter


def person_of(activity: Activity) -> Person:
    """Who sent an activity. Their Entra object id is stable across bots and is what leads are configured by;
    the Emulator sends none, so the channel's own id stands in."""
    sender = activity.from_property
    user = (sender.aad_object_id or sender.id) if sender else ""
    return Person("teams", tenant_of(activity), user or "", name=(sender.name or "") if sender else "")


def tenant_of(activity: Activity) -> str:
    """The Microsoft 365 tenant an activity comes from."""
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    tenant = data.get("tenant") if isinstance(data.get("tenant"), dict) else {}
    return str(tenant.get("id") or (activity.conversation.tenant_id if activity.conversation else "") or "")


def _channel_data(activity: Activity, key: str) -> str:
    data = activity.channel_data if isinstance(activity.channel_data, dict) else {}
    entry = data.get(key)
    return str(entry.get("id") or "") if isinstance(entry, dict) else ""


class TeamsBot:
    """The bot botbuilder calls for each activity: converts in, asks the core, renders out."""

    def __init__(self, core: Conversation, connector: Connector, on_queued: Callable[[], None] = lambda: None):
        self.core, self.connector, self.on_queued = core, connector, on_queued
        self._known: dict[str, tuple[str, ...]] = {}  # addresses already stored by this process

    async def on_turn(self, turn: TurnContext) -> None:
        """Handle one activity."""
        activity = turn.activity
        with unless_unavailable():  # the address is kept on the next activity; the turn still gets its answer
            if await asyncio.to_thread(self._remember, activity):
                self.on_queued()  # messages that waited for the bot to meet Teams are due now
        if activity.type == ActivityTypes.message:
            await self._on_message(turn)
        elif activity.type == ActivityTypes.invoke:
            await self._on_invoke(turn)
        elif activity.type in (ActivityTypes.conversation_update, ActivityTypes.installation_update):
            await self._on_install(turn)

    # ---- messages and button presses -------------------------------------------------------------------------
    async def _on_message(self, turn: TurnContext) -> None:
        activity = turn.activity
        once = _once(activity)
        if activity.value is not None:
            value = cards.read_submit(activity.value)
            if value is None:
                log.warning("teams button with unreadable data ignored")
                await self._reply(turn, [Text("Sorry, I couldn't read that button. Type 'help' to see what I can "
                                              "do.")])
                return
            await self._press(turn, value, once)
            return
        text = (TurnContext.remove_recipient_mention(activity) or "").strip()
        files = sum(1 for a in activity.attachments or [] if str(a.content_type or "").startswith(FILE_TYPES))
        person = person_of(activity)
        replies = await self._turn(Inbound(person, activity.conversation.id, text=text, files=files, once=once))
        if not replies:  # handled before
            return
        if self._personal(activity) or not await asyncio.to_thread(self._in_dialog, person):
            await self._reply(turn, replies, once)
        else:
            await self._reply(turn, [Text("I'll carry on with you in a personal chat.")],
                              f"{once}:moved" if once else "")
            await self._private(turn, replies, once)

    async def _press(self, turn: TurnContext, value: dict[str, Any], once: str = "") -> None:
        """A button (Action.Submit or Action.Execute): its value goes to the core."""
        activity = turn.activity
        person = person_of(activity)
        if "lead" in value and value.get("assignee") and await asyncio.to_thread(
                self._may_act, person, str(value.get("reference", ""))):  # no look-up for a pick that is refused
            value["assignee"] = await self._name(activity, str(value["assignee"]))
        replies = await self._turn(Inbound(person, activity.conversation.id, value=value, once=once))
        if not replies:  # handled before
            return
        private = "lead" in value or await asyncio.to_thread(self._in_dialog, person)
        if self._personal(activity) or not private:
            await self._reply(turn, replies, once)
        else:  # a lead's view of a report, or a dialog: never in the channel
            await self._private(turn, replies, once)

    async def _on_invoke(self, turn: TurnContext) -> None:
        """Action.Execute arrives as an invoke that must be answered in the HTTP response."""
        activity = turn.activity
        action = activity.value.get("action") if isinstance(activity.value, dict) else None
        value = cards.read_submit(action.get("data")) if activity.name == EXECUTE and isinstance(action, dict) \
            else None
        if value is None:
            await turn.send_activity(Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(
                status=400,  # an invoke we do not handle is the caller's mistake: never a 5xx
                body={"statusCode": 400, "type": "application/vnd.microsoft.error",
                      "value": {"code": "BadRequest", "message": "This action is not supported."}})))
            return
        await self._press(turn, value, _once(activity))
        await turn.send_activity(Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(
            status=200, body={"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
                              "value": "Done"})))

    async def _on_install(self, turn: TurnContext) -> None:
        """The bot added to a team or a personal chat: say hello, and tell the IT lead the channel's id."""
        activity = turn.activity
        bot_id = activity.recipient.id if activity.recipient else ""
        added = [m.id for m in activity.members_added or []]
        if activity.type == ActivityTypes.conversation_update and bot_id not in added:
            return
        if activity.type == ActivityTypes.installation_update and activity.action != "add":
            return
        if self._personal(activity):
            await self._reply(turn, [Text(f"Hello! I answer questions about {self.core.config.school.name}'s social "
                                          "media policy, quoting the clause I rely on, and I can take you through "
                                          "reporting an incident, checking a friend request or asking for a "
                                          "school account. Type 'help' to start.")])
            return
        channel = _channel_data(activity, "channel") or _channel_data(activity, "team")
        await self._reply(turn, [Text("Hello! I'm the policy assistant. To send report alerts here, your IT lead "
                                      f"puts this channel's id in the bot's configuration: {channel}")])

    # ---- sending ---------------------------------------------------------------------------------------------
    async def _turn(self, event: Inbound) -> list[Reply]:
        outcome = await self.core.respond_in_loop(event)
        if outcome.queued:  # a report was submitted or a lead acted: wake the outbox worker
            self.on_queued()
        return outcome.replies

    @staticmethod
    def _personal(activity: Activity) -> bool:
        kind = activity.conversation.conversation_type if activity.conversation else None
        return kind in (None, "personal")

    async def _reply(self, turn: TurnContext, replies: list[Reply], once: str = "") -> None:
        """Answer in the activity's conversation (a channel message's thread). Sent through the bot's own
        connector client, which keeps its connections: botbuilder's opens a new one (a TLS handshake with
        Microsoft) for every reply, which was most of a Teams turn's cost under load. When the connector won't
        take it now, the answer waits in the outbox (bot/late_replies.py)."""
        if not replies:
            return
        incoming = turn.activity
        outgoing = TurnContext.apply_conversation_reference(
            _card_activity(replies), TurnContext.get_conversation_reference(incoming)).serialize()
        threaded = bool(incoming.id) and incoming.type in (ActivityTypes.message, ActivityTypes.invoke)
        tried_at = self.core.clock()
        try:
            if threaded:
                await self.connector.reply(incoming.service_url, incoming.conversation.id, incoming.id, outgoing)
            else:
                await self.connector.post(incoming.service_url, incoming.conversation.id, outgoing)
        except RetryLater as problem:
            where = {"service_url": incoming.service_url, **({"reply_to": incoming.id} if threaded else {})}
            await late_replies.keep(self.core.db, self.core.clock, self.on_queued, key=late_replies.key_for(once),
                                    platform="teams", target=incoming.conversation.id, target_kind="reply",
                                    replies=replies, reason=str(problem), delay=problem.delay, tried_at=tried_at,
                                    **where)
        except Undeliverable as problem:
            log.warning("teams: a reply could not be delivered (%s)", problem)

    async def _private(self, turn: TurnContext, replies: list[Reply], once: str = "") -> None:
        """Send to the person's personal chat with the bot, starting one if there is none yet."""
        if not replies:
            return
        activity = turn.activity
        person = person_of(activity)
        tried_at = self.core.clock()
        try:
            conversation = await self._personal_chat(activity, person)
            await self.connector.post(activity.service_url, conversation,
                                      _card_activity(replies).serialize())
        except RetryLater as problem:  # the outbox finds the chat from the address kept for this person
            await late_replies.keep(self.core.db, self.core.clock, self.on_queued, key=late_replies.key_for(once),
                                    platform="teams", target=person.user_id, target_kind="user", replies=replies,
                                    reason=str(problem), delay=problem.delay, tried_at=tried_at)
        except Undeliverable as problem:
            log.warning("teams: could not open a personal chat (%s)", problem)
            await self._reply(turn, [Text("I couldn't message you privately. Please open a chat with me (find me "
                                          "under Apps) and try again there.", tone="warning")])

    async def _personal_chat(self, activity: Activity, person: Person) -> str:
        known = await asyncio.to_thread(self._address, f"user:{person.user_id}")
        if known is not None and known.conversation_id:
            return known.conversation_id
        conversation, _ = await self.connector.create_conversation(
            activity.service_url, tenant_id=person.workspace, bot_id=activity.recipient.id,
            member_id=activity.from_property.id)
        await asyncio.to_thread(self._store, f"user:{person.user_id}", service_url=activity.service_url,
                                tenant_id=person.workspace, conversation_id=conversation,
                                member_id=activity.from_property.id, bot_id=activity.recipient.id)
        return conversation

    async def _name(self, activity: Activity, member: str) -> str:
        """A picked person's display name, for the report's history (their id if Teams won't say)."""
        name = await self.connector.member_name(activity.service_url, activity.conversation.id, member)
        return name or member

    # ---- the database ----------------------------------------------------------------------------------------
    def _may_act(self, person: Person, reference: str) -> bool:
        with Session(self.core.db) as session:
            report = find_report(session, reference)
            return report is not None and escalation.may_act(self.core.config, report, person)

    def _in_dialog(self, person: Person) -> bool:
        with Session(self.core.db) as session, unless_unavailable():  # then the core's answer is shown as it is
            return load_draft(session, platform=person.platform, workspace=person.workspace,
                              user_id=person.user_id) is not None
        return False

    def _address(self, key: str) -> addresses.TeamsAddress | None:
        with Session(self.core.db) as session:
            return addresses.find(session, key)

    def _store(self, key: str, **fields: str) -> int:
        with Session(self.core.db) as session:
            now = self.core.clock()
            addresses.remember(session, key=key, now=now, **fields)
            # Alerts filed before the bot was added to Teams go now, not when their wait runs out.
            hurried = outbox.hurry(session, platform="teams", waiting_for=NOT_MET, now=now)
            session.commit()
        self._known[key] = tuple(fields.get(name, "") for name in addresses.FIELDS)
        return hurried

    def _remember(self, activity: Activity) -> bool:
        """Keep where this activity came from, so alerts and updates can be sent there later; True when a message
        that waited for it is due now."""
        if not activity.service_url:
            return False
        person = person_of(activity)
        common = {"service_url": activity.service_url, "tenant_id": person.workspace,
                  "bot_id": activity.recipient.id if activity.recipient else ""}
        wanted: dict[str, dict[str, str]] = {}
        if person.workspace:
            wanted[f"tenant:{person.workspace}"] = common
        if person.user_id and activity.from_property is not None:
            personal = self._personal(activity) and activity.conversation is not None
            wanted[f"user:{person.user_id}"] = {**common, "member_id": activity.from_property.id or "",
                                                "conversation_id": activity.conversation.id if personal else ""}
        for key in ("channel", "team"):  # a team's General channel has the team's id
            channel = _channel_data(activity, key)
            if channel:
                wanted[f"channel:{channel}"] = {**common, "conversation_id": channel}
        hurried = 0
        for key, fields in wanted.items():
            row = tuple(fields.get(name, "") for name in addresses.FIELDS)
            if self._known.get(key) != row:
                if len(self._known) > 10_000:  # a bound, not a cache policy: the database is the truth
                    self._known.clear()
                hurried += self._store(key, **fields)
        return hurried > 0


def _once(activity: Activity) -> str:
    """The key that makes an activity handled once (a message, or a card button's invoke, sent again): recorded in
    the same transaction as its turn (Inbound.once)."""
    return f"teams:{activity.conversation.id}:{activity.id}" if activity.id and activity.conversation else ""


def _card_activity(replies: list[Reply]) -> Activity:
    card, preview = cards.render(replies)
    return Activity(type=ActivityTypes.message, summary=preview, attachments=[CardFactory.adaptive_card(card)])


# ---- the HTTP endpoint ---------------------------------------------------------------------------------------
def messages_handler(adapter: CloudAdapter, bot: TeamsBot) -> Callable[[web.Request], Any]:
    """POST /api/messages. Calls `process_activity` itself rather than `CloudAdapter.process`, which in 4.17
    serialises an invoke response twice and answers every Action.Execute with a 500."""
    async def handle(request: web.Request) -> web.Response:
        if "application/json" not in request.headers.get("Content-Type", ""):
            return _problem(415, "Send the activity as application/json.")
        try:  # the bytes, whatever charset the header claims; too deeply nested is not valid either
            body = json.loads(await request.read())
        except (ValueError, RecursionError):
            return _problem(400, "The body is not valid JSON.")
        activity, problem = _read_activity(body)
        if activity is None or problem:
            return _problem(400, problem)
        try:
            auth = await _authenticate(adapter, activity, request.headers.get("Authorization", ""))
        except TimeoutError:
            log.warning("teams: a token could not be checked in %ss (the Bot Framework's keys did not come)",
                        AUTH_TIMEOUT)
            return _problem(503, "The token could not be checked just now. Try again.")
        except Exception as failure:  # noqa: BLE001 (a missing, forged or expired token is a 401, never a 500)
            log.warning("teams request refused: %s", type(failure).__name__)
            return _problem(401, "Unauthorized.")
        try:
            response = await adapter.process_activity(auth, activity, bot.on_turn)
        except PermissionError:
            return _problem(401, "Unauthorized.")
        if response is not None:
            return web.json_response(response.body, status=response.status)
        return web.Response(status=200)
    return handle


async def _authenticate(adapter: CloudAdapter, activity: Activity, header: str) -> Any:
    """Check a request's token. botbuilder fetches the Bot Framework's signing keys with blocking `requests` calls
    and no timeout from inside this check (once a day, and for a key it has not seen, at most once an hour): on the
    server's event loop, a slow key server stalled every request, Slack's acks included. So it runs on a thread of
    its own, in a loop of its own, for at most AUTH_TIMEOUT seconds."""
    def check() -> Any:
        return asyncio.run(adapter.bot_framework_authentication.authenticate_request(activity, header))
    return await asyncio.wait_for(asyncio.get_running_loop().run_in_executor(_AUTH_THREADS, check), AUTH_TIMEOUT)


def _read_activity(body: Any) -> tuple[Activity | None, str]:
    """The activity in a request body, or why it is not one."""
    if not isinstance(body, dict):
        return None, "The body must be a Bot Framework activity (a JSON object)."
    if problem := _malformed(body):
        return None, problem
    try:
        activity = Activity().deserialize(body)
    except Exception:  # noqa: BLE001 (msrest raises several kinds for a malformed field)
        return None, "The activity could not be read."
    if not activity.type:
        return None, "The activity has no type."
    if not activity.service_url or activity.conversation is None or not activity.conversation.id:
        return None, "The activity needs a serviceUrl and a conversation id."
    if activity.type in (ActivityTypes.message, ActivityTypes.invoke) and activity.from_property is None:
        return None, "The activity needs a sender (from)."
    url = urlsplit(activity.service_url)
    if url.scheme not in ("http", "https") or not url.netloc or " " in activity.service_url:
        return None, "The serviceUrl must be an http or https address."
    if activity.recipient is None or not activity.recipient.id:
        return None, "The activity needs a recipient (the bot)."
    return activity, ""


_STRINGS = ("type", "id", "name", "text", "channelId", "serviceUrl", "replyToId", "conversation.id",
            "conversation.conversationType", "conversation.tenantId", "from.id", "from.name", "from.aadObjectId",
            "recipient.id")
_OBJECTS = ("conversation", "from", "recipient", "channelData")
_LISTS = ("entities", "attachments", "membersAdded", "membersRemoved")


def _malformed(body: dict[str, Any]) -> str:
    """A field of the wrong type that botbuilder or the bot would trip over, checked before msrest reads the
    activity: msrest turns a wrong type into a string of it (a conversation id of "{'x': 1}") or keeps a null
    entity as it is, and either surfaced as a 500."""
    def at(path: str) -> Any:
        node: Any = body
        for key in path.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        return node
    wrong = [p for p in _OBJECTS if at(p) is not None and not isinstance(at(p), dict)]
    wrong += [p for p in _LISTS if at(p) is not None and not (isinstance(at(p), list)
                                                              and all(isinstance(i, dict) for i in at(p)))]
    wrong += [p for p in _STRINGS if at(p) is not None and not isinstance(at(p), str)]
    if wrong:
        return f"These fields have the wrong type: {', '.join(wrong)}."
    if any(not isinstance(e.get("type"), str) for e in body.get("entities") or []):
        return "Every entity needs a type."
    if any(not isinstance(m.get("id"), str) for m in body.get("membersAdded") or []):
        return "Every member added needs an id."
    longest = dict(_IDS, **({} if at("from.aadObjectId") else {"from.id": 100}))  # the id the person is kept by
    if odd := [p for p, most in longest.items() if at(p) is not None and not _an_id(at(p), most)]:
        return f"These ids are not ids: {', '.join(odd)}."
    return ""


# Ids are kept and looked up as they are: within the database's lengths, and without NUL (PostgreSQL refuses it)
# or anything invisible. Teams' own are far shorter (a personal chat's id, the longest, is about 130 characters).
_IDS = {"id": 200, "replyToId": 200, "conversation.id": 200, "conversation.tenantId": 100, "from.id": 200,
        "from.aadObjectId": 100, "recipient.id": 200, "channelData.tenant.id": 100, "channelData.channel.id": 200,
        "channelData.team.id": 200}


def _an_id(value: Any, most: int) -> bool:
    return isinstance(value, str) and len(value) <= most and value.isprintable()


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
