"""The conversation core: one neutral event in, neutral replies out, the same for every channel.

It routes each turn: a dialog in progress gets it; otherwise a message that fits a dialog is answered and the
dialog offered; otherwise the knowledge base answers. `help`, `cancel`, `back` and `restart` work everywhere.
Dialog state lives in the database between turns, so any process can take the next turn and a restart loses
nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session

from bot import escalation
from bot.answers import DECLINES, elsewhere_decline
from bot.escalation import Person
from bot.school import SchoolConfig
from bot.store import drafts, inbox, outbox
from bot.store.db import blocking, utcnow
from bot.store.errors import unavailable
from bot.store.models import Draft, Feedback
from bot.store.reports import history, reports_by, status
from bot.store.seen import record_once
from dialogs import engine
from dialogs.advice import advice
from dialogs.catalog import DIALOGS
from dialogs.engine import Context, Input, State, Turn
from dialogs.inputs import clean
from dialogs.replies import Choices, Confirmation, Option, Quote, Reply, Text, as_data, from_data
from knowledge.search import Answer, KnowledgeBase, key_sentence

log = logging.getLogger(__name__)

MAX_TEXT = 4000  # longer messages are cut here before anything else reads them
ASK_LEAD_CHARS = 900  # a question passed to a lead rides in its button, and a Slack button holds 2,000 characters
COMMANDS = {"help": "help", "?": "help", "menu": "help", "cancel": "cancel", "stop": "cancel", "quit": "cancel",
            "back": "back", "restart": "restart", "start again": "restart", "start over": "restart",
            "my reports": "my_reports"}
UNAVAILABLE = ("Sorry, I can't reach my records just now, so I haven't saved that. Please send it again in a "
               "minute or two; anything you told me before is kept. If a child is in immediate danger, don't wait "
               "for me: speak to the Designated Safeguarding Lead now, or call 999.")
DIALOG_OFFERS = {
    "incident_report": ("This sounds like something to report. Would you like to report it now? I'll ask one "
                        "thing at a time.", "Report it"),
    "friend_request": ("Would you like me to walk you through this friend request, step by step?",
                       "Check the request"),
    "account_request": ("Would you like help putting together a request for a new school account?",
                        "Start a request"),
}
LATE = "Sorry for the wait: I was restarting when you sent this."  # before an answer given a minute late or more
START_LABELS = {"incident_report": "Report an incident", "friend_request": "Check a friend request",
                "account_request": "Request a school account"}
# Typing a start button's words (or a Teams menu command) starts the form at once, as pressing the button would.
START_PHRASES = {**{label.lower(): name for name, label in START_LABELS.items()},
                 "set up a school account": "account_request"}


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message or button press, as every channel hands it to the core."""

    person: Person
    conversation: str = ""
    text: str = ""
    value: Mapping[str, Any] | None = None  # the value of a pressed button
    files: int = 0  # attachments sent with the message (never kept)
    once: str = ""  # the platform's id for an event it may deliver again (Slack's event_id): handled once only
    kept_at: datetime | None = None  # set when the event is handled again after a stopped server left it behind
    kept: bool = False  # the channel kept the event in the inbox before acknowledging it (store/inbox.py)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a turn says, and whether it queued messages for the outbox (then the delivery worker is woken)."""

    replies: list[Reply]
    queued: bool = False
    again: bool = False  # the answer of a turn taken before, which a stopped server may or may not have posted


@dataclass
class Conversation:
    """The bot's brain, shared by every channel."""

    kb: KnowledgeBase
    db: Engine
    config: SchoolConfig
    clock: Callable[[], datetime] = utcnow
    _clauses: dict[tuple[str, str], Any] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self._clauses = {(c.source, c.number): c for c in self.kb.clauses}

    # ---- the turn -------------------------------------------------------------------------------------------
    def handle(self, event: Inbound) -> list[Reply]:
        """Take one turn and return what to say (nothing for an event handled before)."""
        return self.respond(event).replies

    async def respond_in_loop(self, event: Inbound) -> Outcome:
        """`respond`, for a channel in an event loop (see `store.db.blocking`)."""
        return await blocking(self.db, self.respond, event)

    def respond(self, event: Inbound) -> Outcome:
        """Take one turn: what to say, and whether it queued messages for the outbox. A race with another process
        on the same draft is retried; when the database cannot be reached, nothing of the turn is kept (it is one
        transaction, the record of the event included) and the person is asked to send it again."""
        for attempt in range(3):
            try:
                return self._turn(event)
            except (drafts.DraftConflict, IntegrityError):  # another process saved first (a new draft, say)
                log.info("draft changed under this turn; retrying (attempt %d)", attempt + 1)
            except SQLAlchemyError as failure:
                if not unavailable(failure):
                    raise
                log.warning("database unavailable, so a turn was not saved: %s", type(failure).__name__)
                return Outcome([Text(UNAVAILABLE, tone="warning")])
        return Outcome([Text("Sorry, that clashed with another message of yours. Please send it again.",
                             tone="warning")])

    def _turn(self, event: Inbound) -> Outcome:
        now = self.clock()
        text = clean(event.text[:MAX_TEXT])
        value = dict(event.value) if isinstance(event.value, Mapping) else None
        replies: list[Reply] = []
        if event.files:
            replies.append(Text("I don't keep files or images. Please describe what they show in words instead.",
                                tone="warning"))
        with Session(self.db) as session:
            if event.once and not record_once(session, event.once, now):
                return self._handled_before(session, event)
            draft = drafts.load_draft(session, platform=event.person.platform, workspace=event.person.workspace,
                                      user_id=event.person.user_id)
            lead = bool(value and "lead" in value)  # a lead acting on a report, which no form of theirs affects
            if event.kept_at is not None:
                if draft is not None and not lead and _aware(draft.updated_at) > event.kept_at:
                    # The person carried on after this message was left behind by a stopped server (typing it
                    # again, most likely): applied now, it would answer a later question.
                    log.info("a message left behind was not applied: the person has carried on since")
                    inbox.handled(session, event.once)
                    session.commit()
                    return Outcome([])
                replies.append(Text(LATE, tone="warning"))
            if draft is not None and _aware(draft.expires_at) < now:
                drafts.discard_draft(session, draft=draft)
                replies.append(Text(f"Your unfinished {DIALOGS[draft.dialog].title.lower()} from "
                                    f"{_aware(draft.created_at):%d %b} had expired, so I discarded it. Nothing was "
                                    "sent."))
                draft = None
            command = str(value.get("command", "")) if value else COMMANDS.get(text.lower().strip(" .!/"), "")
            if lead:
                replies += self._lead_action(session, event.person, value, now)
            elif command == "cancel":
                replies += self._cancel(session, draft)
            elif command == "help":
                replies += self._help(draft)
            elif command == "my_reports" and draft is None:
                replies += self._my_reports(session, event.person)
            elif draft is not None:
                replies += self._in_dialog(session, event, draft, text, value, command, now)
            elif value and "start" in value:
                replies += self._start(session, event, str(value["start"]), now)
            elif not value and text.lower().strip(" .!/") in START_PHRASES:
                replies += self._start(session, event, START_PHRASES[text.lower().strip(" .!/")], now)
            elif command in ("back", "restart") or (value and "dialog" in value):
                replies.append(Text("There's nothing in progress to go back to. What would you like to do?"))
                replies += self._help(None)[1:]
            elif value:
                replies += self._button(session, event.person, value, now)
            else:
                replies += self._answer(text)
            if event.kept and replies:  # the answer is kept with the event until the channel has posted it
                inbox.answered(session, event.once, as_data(replies))
            elif event.kept:
                inbox.handled(session, event.once)
            queued = outbox.queued(session)
            session.commit()
        return Outcome(replies, queued)

    @staticmethod
    def _handled_before(session: Session, event: Inbound) -> Outcome:
        """An event seen before: nothing to do, unless a stopped server left behind the answer it gave (then that
        answer again, for the channel to post if it had not been)."""
        answer = inbox.answer_of(session, event.once) if event.kept_at is not None else None
        if answer:
            log.info("an answer left behind by a stopped server is handed back to be posted")
            return Outcome([Text(LATE, tone="warning"), *from_data(answer)], again=True)
        log.info("duplicate event ignored")
        if event.kept:
            inbox.unanswered_handled(session, event.once)  # a copy kept by a retry's delivery is done with
        session.commit()
        return Outcome([])

    # ---- dialogs ---------------------------------------------------------------------------------------------
    def _context(self, now: datetime) -> Context:
        policy = self.config.school.policy
        adopted_name = self.kb.policy_name(policy)

        def adopted(quote: Quote) -> bool:
            return quote.policy == adopted_name or adopted_name in quote.also_in

        names = {role: lead.called for role, lead in self.config.leads.items()}
        return Context(now=now, policy=policy, cite=self.cite, names=names,
                       advice=lambda topic: advice(topic, policy, self.cite, adopted))

    def _start(self, session: Session, event: Inbound, name: str, now: datetime) -> list[Reply]:
        dialog = DIALOGS.get(name)
        if dialog is None:
            return [Text("I don't know that form.")] + self._help(None)[1:]
        turn = engine.start(dialog, self._context(now))
        return self._keep(session, event, None, turn, now)

    def _in_dialog(self, session: Session, event: Inbound, draft: Draft, text: str, value: dict[str, Any] | None,
                   command: str, now: datetime) -> list[Reply]:
        dialog = DIALOGS[draft.dialog]
        state = State.from_json(draft.state)
        resume = value.get("resume") if value else None
        if draft.state.get("awaiting_resume") or resume:
            choice = resume or _resume_word(text)
            if choice == "discard":
                drafts.discard_draft(session, draft=draft)
                return [Text(f"Discarded your unfinished {dialog.title.lower()}. Nothing was sent.")]
            if choice != "continue":
                return [self._resume_offer(dialog, draft)]
            turn = Turn(state, [Text("Carrying on where we left off."), *engine.prompt(dialog, state)])
            return self._keep(session, event, draft, turn, now)
        idle = now - _aware(draft.updated_at)
        if idle > timedelta(minutes=self.config.school.resume_after_minutes) and not value:
            drafts.save_draft(session, draft=draft, platform=draft.platform, workspace=draft.workspace,
                              user_id=draft.user_id, conversation=draft.conversation, dialog=draft.dialog,
                              state={**draft.state, "awaiting_resume": True}, now=now, ttl=self._ttl())
            return [self._resume_offer(dialog, draft)]
        if value and value.get("dialog") not in (None, dialog.name) and "command" not in value:
            return [Text(f"That button belongs to another form. You're in the middle of a {dialog.title.lower()}:"),
                    *engine.prompt(dialog, state)]
        if value and "start" in value:
            return [Text(f"You're already in the middle of a {dialog.title.lower()}. Finish or 'cancel' it "
                         "first. Here's where we were:"), *engine.prompt(dialog, state)]
        turn = engine.handle(dialog, state, Input(text=command or text, value=value), self._context(now))
        return self._keep(session, event, draft, turn, now)

    def _keep(self, session: Session, event: Inbound, draft: Draft | None, turn: Turn, now: datetime) -> list[Reply]:
        """Store what a dialog turn produced: the draft, or the submitted report, or nothing when it ended."""
        if turn.submission is not None:
            report = escalation.submit(session, self.config, turn.submission, event.person, now)
            if draft is not None:
                drafts.discard_draft(session, draft=draft)
            lead = self.config.leads[report.lead_role]
            log.info("report submitted: %s category=%s urgency=%s", report.reference, report.category,
                     report.urgency)
            return [*turn.replies, Confirmation(report.reference,
                                                f"Thank you. {report.reference} has gone to {lead.called}. You'll be "
                                                "told here when it is picked up. Keep your evidence safe, and don't "
                                                "reply to the post.")]
        if turn.state is None:
            if draft is not None:
                drafts.discard_draft(session, draft=draft)
            return turn.replies
        drafts.save_draft(session, draft=draft, platform=event.person.platform, workspace=event.person.workspace,
                          user_id=event.person.user_id, conversation=event.conversation, dialog=turn.state.dialog,
                          state=turn.state.to_json(), now=now, ttl=self._ttl())
        return turn.replies

    def _ttl(self) -> timedelta:
        return timedelta(hours=self.config.school.draft_hours)

    def _resume_offer(self, dialog: engine.Dialog, draft: Draft) -> Choices:
        return Choices(f"Welcome back. You were part-way through a {dialog.title.lower()} (started "
                       f"{_aware(draft.created_at):%d %b at %H:%M} UTC). Carry on, or discard it?",
                       (Option("Carry on", {"resume": "continue"}), Option("Discard it", {"resume": "discard"})))

    def _cancel(self, session: Session, draft: Draft | None) -> list[Reply]:
        if draft is None:
            return [Text("There's nothing to cancel. Ask me a question, or type 'help'.")]
        drafts.discard_draft(session, draft=draft)
        return [Text(f"Cancelled your {DIALOGS[draft.dialog].title.lower()}. Nothing was sent.")]

    def _help(self, draft: Draft | None) -> list[Reply]:
        replies: list[Reply] = [
            Text("I answer questions about the school's social media policy, quoting the clause I rely on, and I "
                 "can take you through a form one question at a time. In a form: 'back' changes the last answer, "
                 "'restart' starts it again, 'cancel' stops it. 'my reports' shows what you've reported."),
        ]
        if draft is not None:
            dialog = DIALOGS[draft.dialog]
            state = State.from_json(draft.state)
            replies.append(Text(f"You're in the middle of a {dialog.title.lower()}. Here's where we were:"))
            return replies + engine.prompt(dialog, state)
        replies.append(Choices("What would you like to do?",
                               tuple(Option(label, {"start": name}) for name, label in START_LABELS.items())))
        return replies

    def _my_reports(self, session: Session, person: Person) -> list[Reply]:
        mine = reports_by(session, platform=person.platform, workspace=person.workspace, user_id=person.user_id)
        if not mine:
            return [Text("You haven't submitted any reports.")]
        lines = [f"{r.reference}: {escalation.category_name(r.category)}, {status(history(session, r))}"
                 for r in mine[:20]]
        return [Text("Your reports:\n" + "\n".join(lines))]

    # ---- buttons outside a dialog ----------------------------------------------------------------------------
    def _button(self, session: Session, person: Person, value: dict[str, Any], now: datetime) -> list[Reply]:
        if "feedback" in value:
            session.add(Feedback(at=now, platform=person.platform, source=clean(str(value.get("source", "")))[:100],
                                 clause=clean(str(value.get("clause", "")))[:200], helpful=value["feedback"] == "yes"))
            return [Text("Thanks, that helps us improve the answers." if value["feedback"] == "yes" else
                         f"Thanks for telling me. If you still need an answer, please ask "
                         f"{self.config.school.contact}.")]
        if "clause" in value and isinstance(value["clause"], list) and len(value["clause"]) == 2:
            quote = self.cite(str(value["clause"][0]), str(value["clause"][1]))
            return [quote] if quote else [Text("That clause is no longer in the policies.")]
        if "ask_lead" in value:
            return self._ask_lead(session, person, str(value.get("question", ""))[:1500], now)
        if "decline" in value:
            return [Text("No problem. Ask me anything else about the policy.")]
        return [Text("Sorry, I didn't understand that button. Type 'help' to see what I can do.")]

    def _ask_lead(self, session: Session, person: Person, question: str, now: datetime) -> list[Reply]:
        role = self.config.school.ask_role
        lead = self.config.leads[role]
        presence = lead.on(person.platform)
        targets = [(u, "user") for u in presence.users] or ([(presence.channel, "channel")] if presence.channel else [])
        if not targets or not question:
            return [Text(f"Please ask {lead.called} directly; I can't pass messages to them here.")]
        for target, kind in targets:
            outbox.enqueue(session, key=f"question:{person.actor}:{now.isoformat()}:{target}",
                           platform=person.platform, target=target, target_kind=kind,
                           message={"type": "question", "from": person.name or person.user_id, "text": question},
                           now=now)
        return [Text(f"I've passed your question to {lead.called}. They'll get back to you.")]

    # ---- lead actions ----------------------------------------------------------------------------------------
    def _lead_action(self, session: Session, person: Person, value: dict[str, Any], now: datetime) -> list[Reply]:
        reference = clean(str(value.get("reference", "")))[:40]  # a button's data is a lookup key: no NUL in it
        outcome = escalation.act(session, self.config, reference, person, str(value["lead"]),
                                 now, detail=clean(str(value.get("detail", "")))[:2000],  # as typed answers are
                                 assignee=" ".join(clean(str(value.get("assignee", ""))).split())[:150])
        if not outcome.ok or outcome.report is None:
            return [Text(outcome.message, tone="warning")]
        if value["lead"] == "view":
            return report_view(session, outcome.report)
        return [Text(outcome.message)]

    # ---- questions -------------------------------------------------------------------------------------------
    def cite(self, source: str, number: str) -> Quote | None:
        """A clause quoted with its citation, or None if the policies have no such clause."""
        clause = self._clauses.get((source, number))
        if clause is None:
            return None
        return Quote(text=clause.quoted(), policy=self.kb.policy_name(clause.source), number=clause.number,
                     title=clause.title, also_in=tuple(self.kb.policy_name(s) for s in clause.also_in))

    def _answer(self, text: str) -> list[Reply]:
        if _thanks(text):  # "thank you so much" would otherwise be searched for "much"
            return [Text("You're welcome. Ask me anything else about the policy.")]
        result = self.kb.ask(text, top=3)
        replies: list[Reply] = []
        if result.truncated:
            replies.append(Text("That was a long message, so I read only its beginning."))
        if result.confident:
            best = result.answers[0]
            quote = self.cite(best.clause.source, best.clause.number)
            gist = key_sentence(best.clause, result.question, self.kb.vocab)
            if quote is not None:
                replies.append(replace(quote, gist=gist or ""))
            if result.did_you_mean:
                replies.append(Choices("Or did you mean one of these?", tuple(
                    Option(_short(self.kb, a), {"clause": [a.clause.source, a.clause.number]})
                    for a in result.did_you_mean)))
            replies.append(Choices("Was this helpful?", (
                Option("Yes", {"feedback": "yes", "source": best.clause.source, "clause": best.clause.number}),
                Option("No", {"feedback": "no", "source": best.clause.source, "clause": best.clause.number}))))
        elif result.reason == "empty":
            replies.append(Text(f"{DECLINES['empty']} Or type 'help'."))
        elif result.reason == "unreadable":  # nothing to pass on to a lead: "yes", "thanks", "2", an emoji
            replies.append(Text(_unreadable_reply(text)))
        elif who := self.config.elsewhere.who(result.elsewhere):
            # Pay, IT and data rights have their own people: passing the question to a lead would only delay it.
            replies.append(Text(elsewhere_decline(who)))
        else:
            contact = self.config.school.contact
            replies.append(Text(f"{DECLINES['not_covered']} Please ask {contact}."))
            ask_label = f"Ask {self.config.leads[self.config.school.ask_role].title}"
            replies.append(Choices("I can pass your question on:", (
                Option(ask_label, {"ask_lead": True, "question": result.question[:ASK_LEAD_CHARS]}),)))
        if result.dialog:
            prompt, label = DIALOG_OFFERS[result.dialog]
            replies.append(Choices(prompt, (Option(label, {"start": result.dialog}),
                                            Option("No, thanks", {"decline": result.dialog}))))
        return replies


def report_view(session: Session, report: Any) -> list[Reply]:
    """A report's full content and history, for a designated lead only (the caller has checked)."""
    events = history(session, report)
    lines = [f"{label}: {value}" for label, value in report.fields]
    trail = [f"{e.at:%d %b %Y %H:%M} {e.action} by {e.actor_name or e.actor}"
             + (f" to {e.assignee}" if e.assignee else "") + (f": {e.detail}" if e.detail else "") for e in events]
    return [Text(f"{report.reference}: {escalation.category_name(report.category)} (urgency {report.urgency}, "
                 f"status {status(events)}), reported by {report.reporter_name or report.reporter_id}."),
            Text("\n".join(lines), literal=True), Text("History:\n" + "\n".join(trail), literal=True)]


def _short(kb: KnowledgeBase, answer: Answer) -> str:
    text = " ".join(answer.clause.text.split())
    return f"{kb.policy_name(answer.clause.source)} {answer.clause.number}: " + (text[:70] + "…" if len(text) > 70
                                                                                  else text)


THANKS = {"thanks", "thank you", "thankyou", "thx", "ty", "cheers", "ta", "great", "brilliant", "perfect", "lovely"}
BARE_ANSWERS = {"yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "no", "n", "nope", "nah", "maybe"}


def _thanks(text: str) -> bool:
    """Whether a message is only thanks ("thanks", "thank you so much!", "cheers"), not a question after it."""
    said = text.lower().strip(" .!?")
    return said in THANKS or (said.startswith(("thank", "cheers")) and len(said.split()) <= 5 and "?" not in text)


def _unreadable_reply(text: str) -> str:
    """What to say to a message the policies cannot be searched with: a bare yes or no (to a question whose buttons
    the person did not press), or nothing readable at all."""
    if text.lower().strip(" .!?") in BARE_ANSWERS:
        return ("I'm not sure what that answers. If it was one of my questions, please choose one of its options; "
                "or ask me a question, or type 'help'.")
    return f"{DECLINES['unreadable']} Type 'help' to see what I can do."


def _resume_word(text: str) -> str:
    key = text.lower().strip(" .!")
    if key in {"carry on", "continue", "yes", "y", "resume", "go on", "1"}:
        return "continue"
    if key in {"discard", "discard it", "delete", "no", "n", "2", "bin it"}:
        return "discard"
    return ""


def _aware(moment: datetime) -> datetime:
    """A stored time as an aware UTC time (SQLite hands back what it was given)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
