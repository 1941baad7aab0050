"""The Slack channel: slack-bolt's AsyncApp converts Slack events to the core's neutral events and renders replies
as Block Kit. No dialog or policy logic lives here.

Dialogs always continue in the person's direct messages, even when started from a channel, so nothing a
reporter types is shown to a channel. Answers to an @mention are posted in its thread.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from bot import escalation, late_replies
from bot.channels import slack_blocks as blocks
from bot.channels.backlog import Backlog, counted
from bot.channels.slack_inbox import KEPT_AT, Answered
from bot.channels.slack_sender import failures, metadata
from bot.conversation import Conversation, Inbound, Outcome
from bot.delivery import RetryLater, Undeliverable
from bot.escalation import Person
from bot.store.drafts import load_draft
from bot.store.errors import unless_unavailable
from bot.store.reports import find_report, history, reports_by, status
from bot.store.seen import first_time
from dialogs.replies import Reply, Text

log = logging.getLogger(__name__)
NAME_TTL = 3600.0  # seconds a looked-up display name is reused
MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
ANSWER_TIMEOUT = 10.0  # seconds a Web API call may take; an answer not taken by then waits in the outbox


def build_app(core: Conversation, *, token: str, signing_secret: str, api_url: str,
              on_queued: Callable[[], None] = lambda: None, backlog: Backlog | None = None,
              answered: Answered | None = None) -> AsyncApp:
    """The Bolt app for one workspace, its Web API client pointed at `api_url` (tests point it at a fake); its
    listeners count their work against `backlog`, which the HTTP endpoint consults before accepting more, and
    note in `answered` the kept events whose answers they posted."""
    client = AsyncWebClient(token=token, base_url=api_url, timeout=ANSWER_TIMEOUT)
    app = AsyncApp(client=client, signing_secret=signing_secret, raise_error_for_unhandled_request=False,
                   logger=_bolt_logger())
    channel = SlackChannel(core, on_queued, backlog or Backlog(), answered or Answered(core.db))

    app.event("message")(channel.on_message)
    app.event("app_mention")(channel.on_mention)
    app.event("app_home_opened")(channel.on_home)
    app.command("/policy")(channel.on_policy_command)
    app.command("/report")(channel.on_report_command)
    app.action(blocks.PRESS_ACTION)(channel.on_press)
    app.action(blocks.LEAD_ACTION)(channel.on_lead_action)
    app.view(blocks.LEAD_MODAL)(channel.on_lead_modal)
    return app


def from_a_person(event: dict[str, Any]) -> bool:
    """Whether an event is one the bot answers with a turn: a person's direct message (text or a file) or an
    @mention of the bot; never a bot's message, an edit or another subtype."""
    if event.get("bot_id") or not event.get("user"):
        return False
    if event.get("type") == "message":
        return event.get("channel_type") == "im" and event.get("subtype") in (None, "file_share")
    return event.get("type") == "app_mention"


def turn_key(payload: dict[str, Any]) -> str:
    """The once-only key of a delivery that starts a turn and is kept until answered: a person's message or
    @mention (its event_id); a press of one of the buttons in the bot's replies or on a report's alert, a lead's
    note or close form sent, or /report (its trigger_id, which is new for every interaction). "" for anything else,
    among them a press that only opens a form: its trigger_id lapses in 3 seconds, so a replay could not open it."""
    kind = payload.get("type")
    if kind == "block_actions":
        return _press_key(payload)
    if kind == "view_submission":
        form = lead_form(payload.get("view") or {})
        sent = form is not None and bool(form[2])  # one sent empty is shown again, to be filled in
        return _form_key(payload) if sent else ""
    if payload.get("command") == "/report" and "type" not in payload:
        return f"slack:command:{payload['trigger_id']}" if payload.get("trigger_id") else ""
    event = payload.get("event") if kind == "event_callback" else None
    return _once(payload) if isinstance(event, dict) and from_a_person(event) else ""


def _press_key(body: dict[str, Any]) -> str:
    actions = body.get("actions") if isinstance(body.get("actions"), list) else []
    action = actions[0] if len(actions) == 1 and isinstance(actions[0], dict) else {}
    lead = blocks.LEAD_ACTION.match(str(action.get("action_id", "")))
    if lead:
        pressed = lead.group(1) not in blocks.MODALS
    else:  # a reply's button whose value cannot be read is ignored (`on_press`), so there is nothing to keep
        pressed = bool(blocks.PRESS_ACTION.match(str(action.get("action_id", "")))) and \
            blocks.parse_value(str(action.get("value", ""))) is not None
    return f"slack:press:{body['trigger_id']}" if pressed and body.get("trigger_id") else ""


def _form_key(body: dict[str, Any]) -> str:
    return f"slack:form:{body['trigger_id']}" if body.get("trigger_id") else ""


def lead_form(view: dict[str, Any]) -> tuple[str, str, str] | None:
    """A lead's note or close form as sent: (action, report reference, what they wrote, stripped, "" when
    nothing); None when the form is not one of ours."""
    if view.get("callback_id") != blocks.LEAD_MODAL:
        return None
    detail = (((view.get("state") or {}).get("values") or {}).get("detail") or {}).get("value") or {}
    meta = blocks.parse_value(str(view.get("private_metadata", ""))) or {}
    text = str(detail.get("value") or "").strip()
    if meta.get("lead") not in blocks.MODALS:
        return None
    return str(meta["lead"]), str(meta.get("reference", "")), text


def _once(body: dict[str, Any]) -> str:
    """The key that makes an event handled once. Slack retries an event it thinks was missed
    (X-Slack-Retry-Num) with the same event_id: the key is recorded in the database in the same transaction as
    the turn it starts, so across restarts and processes it is handled once, and a turn that failed leaves it
    free. Recorded after Bolt has acked, so the ack never waits for a database write; a duplicate is still acked,
    which is what stops Slack retrying."""
    event_id = body.get("event_id") if isinstance(body, dict) else None
    return f"slack:{event_id}" if event_id else ""


def keep_connections(*clients: AsyncWebClient) -> Callable[[Any], AsyncIterator[None]]:
    """An aiohttp cleanup context giving each Web API client one HTTP session for the server's life. Without one
    the SDK opens a session, and a new connection (a TLS handshake with Slack), for every call."""
    async def sessions(_: Any) -> AsyncIterator[None]:
        for client in clients:  # made in the running loop, as aiohttp asks; each keeps its client's timeout
            client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=client.timeout))
        try:
            yield
        finally:
            for client in clients:
                if client.session is not None:
                    await client.session.close()
                client.session = None
    return sessions


class _NoBodies(logging.Filter):
    """Bolt logs an unhandled request with its body, which can hold what someone typed: log that it happened only."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Unhandled request"):
            record.msg, record.args = "an unhandled slack request was ignored", ()
        return True


def _bolt_logger() -> logging.Logger:
    """Bolt's logger, with request bodies kept out of the log."""
    logger = logging.getLogger("bot.channels.slack.bolt")
    if not any(isinstance(f, _NoBodies) for f in logger.filters):
        logger.addFilter(_NoBodies())
    return logger


class SlackChannel:
    """Slack's listeners: each converts in, asks the core, and renders out."""

    def __init__(self, core: Conversation, on_queued: Callable[[], None], backlog: Backlog, answered: Answered):
        self.core = core
        self.backlog = backlog  # every listener's run counts in it (see `counted`)
        self.answered = answered  # kept events whose answers were posted: taken out of the inbox in batches
        self.on_queued = on_queued  # wakes the outbox worker: a report was submitted or a lead acted
        self._names: dict[str, tuple[str, float]] = {}  # user id -> (display name, until when it is trusted)

    async def _turn(self, event: Inbound) -> Outcome:
        outcome = await self.core.respond_in_loop(event)
        if outcome.queued:
            self.on_queued()
        return outcome

    async def _kept_turn(self, context: AsyncBoltContext, person: Person, conversation: str, once: str,
                         **what: Any) -> tuple[Outcome, datetime | None]:
        """The turn of a delivery kept in the inbox under `once` ("" when it was not kept), and, when its answer
        was given before a server stopped (see `_post`), when the delivery first arrived."""
        kept_at = context.get(KEPT_AT)
        outcome = await self._turn(Inbound(person, conversation, once=once, kept_at=kept_at, kept=bool(once),
                                           **what))
        return outcome, kept_at if outcome.again else None

    @staticmethod
    def _person(context: AsyncBoltContext, user: str, name: str = "") -> Person:
        return Person("slack", context.team_id or context.enterprise_id or "", user, name)

    async def _who(self, context: AsyncBoltContext, client: AsyncWebClient, user: str) -> Person:
        """The person with their display name, so leads see a name rather than an id (looked up once an hour)."""
        now = time.monotonic()
        known = self._names.get(user)
        if known is None or known[1] < now:
            if len(self._names) > 10_000:  # a bound, not a policy: names are cheap to look up again
                self._names.clear()
            known = (await self._name(client, user), now + NAME_TTL)
            self._names[user] = known
        return self._person(context, user, known[0] if known[0] != user else "")

    async def _post(self, client: AsyncWebClient, replies: list[Reply], *, channel: str = "", user: str = "",
                    thread_ts: str | None = None, once: str = "", again: datetime | None = None) -> None:
        """Post replies in a channel (or, without one, in the person's DM); `once` is the kept event they answer.
        When Slack won't take them now they wait in the outbox, which posts them later, once
        (bot/late_replies.py); so does an answer given `again`, which a server stopped at that time may or may
        not have posted: the outbox looks for it before posting."""
        if not replies:
            return
        key = late_replies.key_for(once)
        where = {"thread_ts": thread_ts} if thread_ts else {}
        later = functools.partial(late_replies.keep, self.core.db, self.core.clock, self.on_queued, key=key,
                                  platform="slack", target=channel or user,
                                  target_kind="channel" if channel else "user", replies=replies, done=once, **where)
        if again is not None:
            await later(reason="answered before a server stopped", tried_at=again)
            return
        rendered, text = blocks.render(replies)
        tried_at = self.core.clock()
        try:
            with failures():
                await client.chat_postMessage(channel=channel or await self._dm(client, user), blocks=rendered,
                                              text=text or "Policy assistant", thread_ts=thread_ts,
                                              metadata=metadata(key))
        except RetryLater as problem:
            await later(reason=str(problem), delay=problem.delay, tried_at=tried_at)
            return
        except Undeliverable as problem:
            log.warning("slack: an answer could not be posted (%s)", problem)
        if once:
            self.answered.add(once)

    async def _dm(self, client: AsyncWebClient, user: str) -> str:
        opened = await client.conversations_open(users=user)
        return opened["channel"]["id"]

    async def _first_time(self, body: dict[str, Any]) -> bool:
        """Whether an event that starts no turn (App Home opened) is new; see `_once`."""
        key = _once(body)
        if not key or await asyncio.to_thread(first_time, self.core.db, key, self.core.clock()):
            return True
        log.info("duplicate slack event ignored")
        return False

    @counted
    async def on_message(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext,
                         client: AsyncWebClient) -> None:
        """A direct message to the bot (message.im). Bots, edits and other subtypes are ignored."""
        if not from_a_person(event):
            return
        user, once = str(event["user"]), _once(body)
        files = len(event.get("files") or [])
        outcome, again = await self._kept_turn(context, await self._who(context, client, user),
                                               event.get("channel", ""), once, text=str(event.get("text") or ""),
                                               files=files)
        await self._post(client, outcome.replies, channel=event["channel"], once=once, again=again)

    @counted
    async def on_mention(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext,
                         client: AsyncWebClient) -> None:
        """An @mention in a channel: the question is answered in its thread; anything more moves to a DM."""
        if not from_a_person(event):
            return
        user, once = str(event["user"]), _once(body)
        text = MENTION.sub("", str(event.get("text") or "")).strip()
        person = await self._who(context, client, user)
        outcome, again = await self._kept_turn(context, person, event.get("channel", ""), once, text=text)
        if not outcome.replies:  # handled before (Slack retried it)
            return
        if await asyncio.to_thread(self._in_dialog, person):
            if again is None:  # a note in the thread, not worth posting twice
                await self._post(client, [Text("I'll carry on with you in a direct message.")],
                                 channel=event["channel"], thread_ts=event.get("ts"))
            await self._post(client, outcome.replies, user=user, once=once, again=again)
        else:
            await self._post(client, outcome.replies, channel=event["channel"],
                             thread_ts=event.get("thread_ts") or event.get("ts"), once=once, again=again)

    def _in_dialog(self, person: Person) -> bool:
        with Session(self.core.db) as session, unless_unavailable():  # then the core's answer is shown as it is
            return load_draft(session, platform=person.platform, workspace=person.workspace,
                              user_id=person.user_id) is not None
        return False

    @counted
    async def on_policy_command(self, ack: Callable[..., Awaitable[None]], command: dict[str, Any],
                                context: AsyncBoltContext) -> None:
        """/policy QUESTION: answered privately (ephemeral), inside the 3 seconds Slack allows."""
        question = str(command.get("text") or "").strip() or "help"
        replies = (await self._turn(Inbound(self._person(context, command.get("user_id", "")),
                                            command.get("channel_id", ""), text=question))).replies
        rendered, text = blocks.render(replies)
        await ack(response_type="ephemeral", blocks=rendered, text=text or "Policy assistant")

    @counted
    async def on_report_command(self, ack: Callable[..., Awaitable[None]], command: dict[str, Any],
                                context: AsyncBoltContext, client: AsyncWebClient) -> None:
        """/report: the incident report starts in the person's direct messages."""
        await ack(response_type="ephemeral", text="I've opened a private conversation with you to take the report.")
        user, once = command.get("user_id", ""), turn_key(command)
        person = await self._who(context, client, user)
        outcome, again = await self._kept_turn(context, person, "", once, value={"start": "incident_report"})
        await self._post(client, outcome.replies, user=user, once=once, again=again)

    @counted
    async def on_press(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], action: dict[str, Any],
                       context: AsyncBoltContext, client: AsyncWebClient) -> None:
        """A button from one of the bot's replies: its value goes to the core; the answer goes to the DM."""
        await ack()
        value = blocks.parse_value(str(action.get("value", "")))
        user = (body.get("user") or {}).get("id", "")
        if value is None or not user:
            log.warning("slack button with an unreadable value ignored")
            return
        channel, once = (body.get("channel") or {}).get("id", ""), _press_key(body)
        outcome, again = await self._kept_turn(context, await self._who(context, client, user), channel, once,
                                               value=value)
        await self._post(client, outcome.replies, channel=channel if channel.startswith("D") else "", user=user,
                         once=once, again=again)

    @counted
    async def on_lead_action(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any],
                             action: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
        """A button or the user picker on a report's alert: view (privately), acknowledge, assign, or open a note
        or close form. Anyone who may not act gets the core's refusal, which is recorded, and no form."""
        await ack()
        user = (body.get("user") or {}).get("id", "")
        channel = (body.get("channel") or {}).get("id", "")
        kind = blocks.LEAD_ACTION.match(action.get("action_id", "")).group(1)
        if kind == "assign":  # a users_select carries no value: the report is named in its block's id
            value: dict[str, Any] = {"reference": blocks.assign_reference(str(action.get("block_id", ""))) or ""}
        else:
            value = blocks.parse_value(str(action.get("value", ""))) or {}
        person = await self._who(context, client, user)
        if kind in ("assign", "note", "close") and await asyncio.to_thread(
                self._may_change, person, str(value.get("reference", "")), kind):
            if kind != "assign":
                await self._open_form(client, body, channel, user, kind, str(value["reference"]))
                return
            # Looked up only for someone allowed to assign: nobody else's pick reaches the Web API.
            value["assignee"] = await self._name(client, str(action.get("selected_user") or ""))
        once = _press_key(body)  # "" for a note or close press, which is not kept (see `turn_key`)
        outcome, again = await self._kept_turn(context, person, channel, once, value={**value, "lead": kind})
        await self._private(client, channel, user, outcome.replies, once=once, again=again)

    async def _open_form(self, client: AsyncWebClient, body: dict[str, Any], channel: str, user: str, kind: str,
                         reference: str) -> None:
        """The note or close form; Slack refuses it once the press's trigger_id is 3 seconds old, so say so."""
        try:
            await client.views_open(trigger_id=str(body.get("trigger_id") or ""),
                                    view=blocks.lead_modal(kind, reference))
        except SlackApiError as failure:
            log.warning("slack form could not be opened: %s", failure.response.get("error", "unknown"))
            await self._private(client, channel, user, [Text("Sorry, Slack didn't let me open the form in time. "
                                                             "Please press the button again.", tone="warning")])

    @counted
    async def on_lead_modal(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], view: dict[str, Any],
                            context: AsyncBoltContext, client: AsyncWebClient) -> None:
        """The note or close form submitted. Slack shows the form again while nothing is written in it."""
        form = lead_form(view)
        if form is None:  # only our own forms carry this callback id: anything else is odd
            log.warning("slack form without a known action ignored")
            await ack()
            return
        if not form[2]:
            await ack(response_action="errors", errors={"detail": "Please write something here."})
            return
        await ack()
        (action, reference, text), once = form, _form_key(body)  # the form was read above: not again
        user = (body.get("user") or {}).get("id", "")
        outcome, again = await self._kept_turn(context, await self._who(context, client, user), "", once,
                                               value={"lead": action, "reference": reference, "detail": text})
        await self._post(client, outcome.replies, user=user, once=once, again=again)

    async def _private(self, client: AsyncWebClient, channel: str, user: str, replies: list[Reply], *,
                       once: str = "", again: datetime | None = None) -> None:
        """Only the person who pressed sees this: an ephemeral message in the channel, or a DM. An ephemeral
        message cannot be looked for afterwards, so one Slack won't take now, or one given `again`, goes to the DM,
        where the outbox can make sure it is posted once (see `_post`)."""
        if not channel or channel.startswith("D") or again is not None:
            await self._post(client, replies, user=user, once=once, again=again)
            return
        rendered, text = blocks.render(replies)
        try:
            with failures():
                await client.chat_postEphemeral(channel=channel, user=user, blocks=rendered, text=text or "Report")
        except RetryLater:
            await self._post(client, replies, user=user, once=once)
            return
        except Undeliverable as problem:
            log.warning("slack: a private answer could not be posted (%s)", problem)
        if once:
            self.answered.add(once)

    def _may_change(self, person: Person, reference: str, kind: str) -> bool:
        """Whether a form should open (or a name be looked up): the person is one of the report's leads, and the
        report is still open to this action. Otherwise the core gives its answer (refused, or already closed)."""
        with Session(self.core.db) as session, unless_unavailable():  # the core then says to try again
            report = find_report(session, reference)
            if report is None or not escalation.may_act(self.core.config, report, person):
                return False
            return kind == "note" or status(history(session, report)) != "closed"  # a closed report takes notes
        return False

    async def _name(self, client: AsyncWebClient, user: str) -> str:
        """A Slack user's display name, for the report's history (their id if Slack won't say)."""
        if not user:
            return ""
        try:
            profile = (await client.users_info(user=user))["user"]
            return str(profile.get("real_name") or profile.get("name") or user)
        except Exception:  # noqa: BLE001 (a name is a nicety; the id still identifies them)
            return user

    @counted
    async def on_home(self, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext,
                      client: AsyncWebClient) -> None:
        """The App Home tab: what the bot does, and the person's own reports with their status."""
        user = event.get("user", "")
        if event.get("tab", "home") != "home" or not user or not await self._first_time(body):
            return
        mine = await asyncio.to_thread(self._own_reports, self._person(context, user))
        replies: list[Reply] = [Text(f"I answer questions about {self.core.config.school.name}'s social media "
                                     "policy, quoting the clause I rely on, and take you through reporting an "
                                     "incident, checking a friend request, or asking for a school account. "
                                     "Message me, or use /policy and /report.")]
        replies.append(Text("*Your reports*\n" + ("\n".join(mine) if mine else "You haven't submitted any.")))
        rendered, _ = blocks.render(replies)
        await client.views_publish(user_id=user, view={"type": "home", "blocks": rendered})

    def _own_reports(self, person: Person) -> list[str]:
        with Session(self.core.db) as session:
            return [f"{r.reference}: {escalation.category_name(r.category)}, {status(history(session, r))}"
                    for r in reports_by(session, platform=person.platform, workspace=person.workspace,
                                        user_id=person.user_id)[:20]]

