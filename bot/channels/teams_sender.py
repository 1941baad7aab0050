"""Delivering outbox messages to Teams: alerts as a new thread in a lead's channel (the card edited in place as the
report's status changes), messages to reporters and leads in their personal chat with the bot, and answers the
connector would not take when they were first sent, in the conversation they answer.

Teams lets a bot post only where it has been: the service URL and tenant come from the addresses stored when the
bot was installed or spoken to. Until the bot has seen a team, its alerts wait in the outbox rather than fail.

Unlike Slack, the Bot Connector cannot list what is in a conversation (only Microsoft Graph can, with permissions
a school would have to grant for every team), so a send that may have landed without the bot hearing back is
sent again: at least once, and in that narrow window possibly twice.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from botbuilder.core import CardFactory
from botbuilder.schema import Activity, ActivityTypes
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.channels import teams_cards as cards
from bot.channels.teams_connector import Connector
from bot.delivery import RetryLater
from bot.store import addresses
from bot.store.models import OutboxMessage, TeamsAddress

log = logging.getLogger(__name__)
UNKNOWN_WAIT = 300  # seconds before trying again a channel or person the bot has not met yet
NOT_MET = "the bot has not been added to Teams here yet"  # the adapter hurries these once it meets Teams
SEPARATOR = "|"


class TeamsSender:
    """Sends outbox messages through the Bot Connector service."""

    def __init__(self, db: Engine, connector: Connector, clock: Callable[[], datetime], app_id: str = ""):
        self.db, self.connector, self.clock = db, connector, clock
        self.default_bot_id = f"28:{app_id}" if app_id else ""

    async def send(self, message: OutboxMessage, earlier_ref: str) -> str:
        """Post the message (or replace the earlier card) and return "activity|conversation|service url"."""
        card, preview = cards.outbox_card(message.message)
        activity = Activity(type=ActivityTypes.message, summary=preview,
                            attachments=[CardFactory.adaptive_card(card)]).serialize()
        if earlier_ref:
            activity_id, conversation, service_url = earlier_ref.split(SEPARATOR, 2)
            await self.connector.update(service_url, conversation, activity_id, activity)
            return earlier_ref
        if message.target_kind == "reply":  # an answer the connector would not take when it was given
            return await self._in_conversation(message.target, message.message, activity)
        if message.target_kind == "channel":
            return await self._to_channel(message.target, activity)
        return await self._to_person(message.target, activity)

    async def landed(self, message: OutboxMessage, since: datetime) -> str:
        """Teams cannot be asked whether an earlier attempt arrived: always "" (the message is sent again)."""
        log.info("outbox %s: Teams cannot say whether the attempt begun at %s arrived; sending again",
                 message.id, since.isoformat(timespec="seconds"))
        return ""

    async def _in_conversation(self, conversation: str, message: dict, activity: dict) -> str:
        service_url, reply_to = str(message.get("service_url", "")), str(message.get("reply_to", ""))
        if reply_to:
            activity_id = await self.connector.reply(service_url, conversation, reply_to, activity)
        else:
            activity_id = await self.connector.post(service_url, conversation, activity)
        return SEPARATOR.join((activity_id, conversation, service_url))

    async def _to_channel(self, channel: str, activity: dict) -> str:
        address = await asyncio.to_thread(self._find, f"channel:{channel}", fallback=True)
        conversation, activity_id = await self.connector.create_conversation(
            address.service_url, tenant_id=address.tenant_id, bot_id=address.bot_id or self.default_bot_id,
            channel_id=channel, activity=activity)
        activity_id = activity_id or conversation.partition(";messageid=")[2]  # a thread's id carries its root
        return SEPARATOR.join((activity_id, conversation, address.service_url))

    async def _to_person(self, user: str, activity: dict) -> str:
        address = await asyncio.to_thread(self._find, f"user:{user}", fallback=True)
        conversation = address.conversation_id if address.key.startswith("user:") else ""
        if not conversation:
            conversation, _ = await self.connector.create_conversation(
                address.service_url, tenant_id=address.tenant_id, bot_id=address.bot_id or self.default_bot_id,
                member_id=address.member_id if address.key.startswith("user:") and address.member_id else user)
            await asyncio.to_thread(self._keep_chat, user, address, conversation)
        activity_id = await self.connector.post(address.service_url, conversation, activity)
        return SEPARATOR.join((activity_id, conversation, address.service_url))

    def _find(self, key: str, fallback: bool) -> TeamsAddress:
        """The stored address, else (for a person or channel not met yet) the tenant's, else wait."""
        with Session(self.db, expire_on_commit=False) as session:
            found = addresses.find(session, key) or (addresses.newest(session) if fallback else None)
        if found is None or not found.service_url:
            raise RetryLater(NOT_MET, delay=UNKNOWN_WAIT)
        return found

    def _keep_chat(self, user: str, address: TeamsAddress, conversation: str) -> None:
        with Session(self.db) as session:
            addresses.remember(session, key=f"user:{user}", now=self.clock(), service_url=address.service_url,
                               tenant_id=address.tenant_id, conversation_id=conversation, bot_id=address.bot_id)
            session.commit()
