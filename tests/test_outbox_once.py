"""Each outbox message is posted once, even when a post reaches Slack and the worker never hears back.

The worker is driven by hand here (one `deliver_due` at a time, on a hand-moved clock) against the fake Web API,
whose conversations.history returns what was posted with its metadata. tests/test_faults.py does the same with
real processes killed by SIGKILL.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from bot.channels.slack_sender import METADATA_TYPE, SlackSender, outbox_client
from bot.conversation import Conversation, Inbound
from bot.delivery import Delivery
from bot.store import outbox
from bot.store.models import OutboxMessage
from tests.fake_slack import FakeSlack, start_fake_slack
from tests.slack_world import SlackStaff, slack_config
from tests.test_incident_report import report as file_report

PUPIL = "A worrying post or message by or about a pupil"
LEASE = timedelta(seconds=40)


@dataclass
class Outbox:
    """A Slack-only worker on the core's database, the fake it posts to, and the hand-moved clock."""

    core: Conversation
    fake: FakeSlack
    fake_url: str

    def rows(self) -> list[OutboxMessage]:
        with Session(self.core.db) as session:
            return list(session.exec(select(OutboxMessage).where(OutboxMessage.platform == "slack")
                                     .order_by(OutboxMessage.id)))

    def alert(self) -> OutboxMessage:
        (row,) = [r for r in self.rows() if r.target_kind == "channel"]
        return row

    def posts(self, channel: str = "CSAFE") -> list:
        return self.fake.posted_to(channel)

    def worker(self, timeout: float = 0.5) -> Delivery:
        """A worker (a replica's) on the core's database; its calls give up after `timeout` seconds."""
        client = outbox_client("xoxb-test", self.fake_url, timeout)
        return Delivery(self.core.db, {"slack": SlackSender(client)}, self.core.clock, lease=LEASE)

    @property
    def delivery(self) -> Delivery:
        """The one worker most tests need."""
        if not hasattr(self, "_delivery"):
            self._delivery = self.worker()
        return self._delivery


@pytest.fixture
async def box(core) -> AsyncIterator[Outbox]:
    fake, runner, api_url = await start_fake_slack()
    yield Outbox(Conversation(kb=core.kb, db=core.db, config=slack_config(core), clock=core.clock), fake, api_url)
    await runner.cleanup()


async def test_every_post_carries_its_outbox_key_as_metadata(box):
    file_report(SlackStaff(box.core, user="U9"), PUPIL)
    assert await box.delivery.deliver_due() == 1
    (post,) = box.posts()
    assert post.args["metadata"] == {"event_type": METADATA_TYPE, "event_payload": {"key": box.alert().key}}
    assert box.fake.of("conversations.history") == [], "a first attempt has nothing to check"


async def test_a_post_slack_took_but_never_answered_is_found_in_the_history_and_not_posted_again(box):
    file_report(SlackStaff(box.core, user="U9"), PUPIL)
    box.fake.hang_after.add("chat.postMessage")
    assert await box.delivery.deliver_due() == 0  # the post is in the channel; the answer never comes
    first = box.alert()
    assert first.status == "pending" and first.attempted_at is not None and "TimeoutError" in first.last_error

    box.fake.hang_after.clear()
    box.core.clock.advance(seconds=6)  # past the retry's backoff
    assert await box.delivery.deliver_due() == 1
    (post,) = box.posts()
    (check,) = box.fake.of("conversations.history")
    assert check.args["channel"] == "CSAFE" and float(check.args["oldest"]) < float(post.answered["ts"])
    sent = box.alert()
    assert sent.status == "sent" and sent.external_ref == f"CSAFE:{post.answered['ts']}"


async def test_a_post_that_failed_before_reaching_slack_is_posted_after_the_check(box):
    file_report(SlackStaff(box.core, user="U9"), PUPIL)
    box.fake.fail_next("chat.postMessage", 500)
    await box.delivery.deliver_due()
    box.core.clock.advance(seconds=6)
    assert await box.delivery.deliver_due() == 1
    assert len(box.fake.of("conversations.history")) == 1 and len(box.posts()) == 1
    assert box.alert().status == "sent"


async def test_an_update_to_a_reporter_in_doubt_is_looked_for_in_their_direct_messages(box):
    staff = SlackStaff(box.core, user="U9")
    reference = file_report(staff, PUPIL)
    await box.delivery.deliver_due()
    lead = SlackStaff(box.core, user="UDSL")
    box.core.handle(Inbound(lead.person, "CSAFE", value={"lead": "acknowledge", "reference": reference}))
    box.fake.hang_after.add("chat.postMessage")
    await box.delivery.deliver_due()  # the alert's edit goes; the reporter's update is taken, never answered
    box.fake.hang_after.clear()
    box.core.clock.advance(seconds=6)
    await box.delivery.deliver_due()
    told = box.posts("DU9")
    assert len(told) == 1 and "acknowledged" in str(told[0].args)
    assert [c.args["channel"] for c in box.fake.of("conversations.history")] == ["DU9"]
    assert all(r.status == "sent" for r in box.rows())


async def test_the_check_reads_several_pages_of_a_busy_channel(box):
    file_report(SlackStaff(box.core, user="U9"), PUPIL)
    box.fake.hang_after.add("chat.postMessage")
    await box.delivery.deliver_due()
    box.fake.hang_after.clear()
    for n in range(250):  # the channel moved on: the post is on the second page, newest first
        box.fake.history["CSAFE"].append({"type": "message", "ts": box.fake._next_ts(), "text": f"chat {n}"})
    box.core.clock.advance(seconds=6)
    assert await box.delivery.deliver_due() == 1
    assert len(box.fake.of("conversations.history")) == 2 and len(box.posts()) == 1


async def test_without_the_history_scope_the_message_is_posted_again_rather_than_lost(box, caplog):
    file_report(SlackStaff(box.core, user="U9"), PUPIL)
    box.fake.fail_next("chat.postMessage", 500)
    await box.delivery.deliver_due()
    box.fake.fail_next("conversations.history", 200, error="missing_scope")
    box.core.clock.advance(seconds=6)
    assert await box.delivery.deliver_due() == 1
    assert box.alert().status == "sent" and "groups:history" in caplog.text


async def test_a_worker_whose_claim_lapsed_and_was_taken_over_does_not_post(box):
    file_report(SlackStaff(box.core, user="U9"), PUPIL)
    slow, other = box.worker(), box.worker()
    claimed = slow._claim()  # the slow worker claims, then stalls past its lease
    box.core.clock.advance(seconds=LEASE.total_seconds() + 1)
    assert await other.deliver_due() == 1
    for message in claimed:  # the slow worker wakes up and carries on with what it claimed
        await slow._deliver(message)
    assert len(box.posts()) == 1


async def test_the_outbox_client_never_retries_a_post_behind_the_outboxs_back(box):
    client = outbox_client("xoxb-test", box.fake_url, 1.0)
    assert client.retry_handlers == []


async def test_a_begun_attempt_renews_the_claim_for_a_whole_lease(box, clock):
    file_report(SlackStaff(box.core, user="U9"), PUPIL)
    with Session(box.core.db, expire_on_commit=False) as session:
        (message,) = outbox.claim_due(session, now=clock(), lease=LEASE, platforms=("slack",))
        clock.advance(seconds=30)
        assert outbox.begin_attempt(session, message=message, now=clock(), lease=LEASE)
        session.commit()
        clock.advance(seconds=30)  # past the first claim's lease, inside the renewed one
        assert outbox.claim_due(session, now=clock(), lease=LEASE, platforms=("slack",)) == []
