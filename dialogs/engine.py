"""The one small engine that runs every guided dialog.

A dialog is data: a list of steps, each a prompt with a kind, the answers it accepts and a condition on earlier
answers that says whether it is asked at all. The engine is pure: it takes the dialog's saved state and what
the person said, and returns the new state and the replies. Storing the state is the caller's business, which
is what lets a dialog survive a restart or move between server processes.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from dialogs.inputs import Invalid, clean, read_choice, read_link, read_text, read_when, read_yes_no
from dialogs.replies import Choices, Field, Option, Question, Quote, Reply, Summary, Text

Answers = Mapping[str, Any]
SKIP_WORDS = {"skip", "pass", "n/a", "na", "none", "nothing", "no one", "nobody", "not applicable"}


class Kind(StrEnum):
    """What kind of answer a step takes."""

    CHOICE = "choice"
    YES_NO = "yes/no"
    TEXT = "free text"
    WHEN = "date/time"
    LINK = "link"


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a choice step: the value kept, the words shown, and words that also pick it."""

    value: str
    label: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Advice:
    """Policy advice on a topic, shown before a step when earlier answers match."""

    topic: str
    when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def applies(self, answers: Answers) -> bool:
        """Whether this advice fits the answers so far."""
        return all(answers.get(step) in allowed for step, allowed in self.when.items())


@dataclass(frozen=True, slots=True)
class Notice:
    """Something said straight after a particular answer (e.g. "call 999"), before the next question."""

    text: str  # may name leads: {dsl}, {headteacher}
    tone: str = "urgent"


YES_NO_CHOICES = (Choice("yes", "Yes", ("yes", "y", "yeah")), Choice("no", "No", ("no", "n", "nope")))


@dataclass(frozen=True, slots=True)
class Step:
    """One question of a dialog."""

    id: str
    prompt: str
    kind: Kind
    label: str  # how the answer is named in the summary
    choices: tuple[Choice, ...] = ()
    when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # asked only if earlier answers match
    hint: str = ""
    advice: tuple[Advice, ...] = ()  # advice shown (once per dialog) before the prompt
    notices: Mapping[str, Notice] = field(default_factory=dict)  # answer value -> notice shown straight after
    check: Callable[[str], str] | None = None  # a further check on a typed answer; raises Invalid
    optional: bool = False  # "skip" is accepted
    min_chars: int = 1
    max_chars: int = 2000

    def applies(self, answers: Answers) -> bool:
        """Whether this step is asked, given the answers so far."""
        return all(answers.get(step) in allowed for step, allowed in self.when.items())

    def options(self) -> tuple[Choice, ...]:
        """The choices offered (yes and no for a yes/no step)."""
        return YES_NO_CHOICES if self.kind is Kind.YES_NO else self.choices

    def display(self, answer: Any) -> str:
        """An answer as the summary shows it."""
        if answer in ("", None):
            return "Not given"
        if self.kind in (Kind.CHOICE, Kind.YES_NO):
            return next((c.label for c in self.options() if c.value == answer), str(answer))
        if self.kind is Kind.WHEN:
            return answer["text"] + (f" ({answer['date']}{' ' + answer['time'] if answer.get('time') else ''})"
                                     if answer.get("date") else "")
        return str(answer)


@dataclass(frozen=True, slots=True)
class Submission:
    """A completed dialog's answers, ready to be stored as a report."""

    dialog: str
    category: str
    urgency: str  # "urgent", "high" or "normal"
    answers: dict[str, Any]
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class Context:
    """What a dialog may know about the world: the time, the school's policy and its people."""

    now: datetime
    policy: str = ""  # the policy id the school adopted
    advice: Callable[[str], Sequence[Reply]] = lambda topic: ()  # advice topic -> text and quoted clauses
    cite: Callable[[str, str], Quote | None] = lambda source, number: None
    names: Mapping[str, str] = field(default_factory=dict)  # role -> how to refer to its lead, e.g. "the DSL"


@dataclass(frozen=True, slots=True)
class Dialog:
    """A guided dialog, declared as data."""

    name: str
    title: str
    intro: str
    steps: tuple[Step, ...]
    submits: bool = True  # False: the dialog ends in advice, with nothing stored or sent
    classify: Callable[[Answers], tuple[str, str]] = lambda answers: ("other", "normal")
    conclude: Callable[[Answers, Context], Sequence[Reply]] = lambda answers, ctx: ()
    done_text: str = ""

    def step(self, step_id: str) -> Step:
        """The step with this id."""
        return next(s for s in self.steps if s.id == step_id)


@dataclass(slots=True)
class State:
    """Where a person is in a dialog. Plain data, saved as JSON between turns."""

    dialog: str
    answers: dict[str, Any] = field(default_factory=dict)
    step: str | None = None
    phase: str = "ask"  # "ask" a step, show the "summary", or "pick" the answer to change
    trail: list[str] = field(default_factory=list)  # steps answered, in order, for "back"
    shown: list[str] = field(default_factory=list)  # advice topics already shown

    def to_json(self) -> dict[str, Any]:
        """The state as JSON-able data."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "State":
        """The state from saved data."""
        return cls(**{k: data[k] for k in ("dialog", "answers", "step", "phase", "trail", "shown") if k in data})


@dataclass(slots=True)
class Input:
    """What the person sent: typed text, or the value of a button they pressed."""

    text: str = ""
    value: Mapping[str, Any] | None = None


@dataclass(slots=True)
class Turn:
    """The outcome of one turn: the new state (None when the dialog is over), replies, and any submission."""

    state: State | None
    replies: list[Reply]
    submission: Submission | None = None


def start(dialog: Dialog, ctx: Context) -> Turn:
    """Begin a dialog at its first question."""
    state = State(dialog=dialog.name)
    replies: list[Reply] = [Text(dialog.intro)]
    return _advance(dialog, state, ctx, replies)


def handle(dialog: Dialog, state: State, inp: Input, ctx: Context) -> Turn:
    """Take one message or button press in a dialog."""
    value = dict(inp.value or {})
    command = clean(inp.text).lower().strip(" .!") if not value else str(value.get("command", ""))
    if command == "restart":
        return _advance(dialog, State(dialog=dialog.name), ctx, [Text("Starting again from the first question.")])
    if command == "back":
        return _back(dialog, state, ctx)
    if state.phase == "summary":
        return _on_summary(dialog, state, inp, value, ctx)
    if state.phase == "pick":
        return _on_pick(dialog, state, inp, value, ctx)
    return _on_answer(dialog, state, inp, value, ctx)


def prompt(dialog: Dialog, state: State) -> list[Reply]:
    """The question the dialog is waiting on (or its summary), asked again."""
    if state.phase == "summary":
        return [summary(dialog, state)]
    if state.phase == "pick":
        return [_pick_choices(dialog, state)]
    return [_ask(dialog, dialog.step(state.step), state)] if state.step else []


def summary(dialog: Dialog, state: State) -> Summary:
    """Everything answered so far, with submit, change and cancel."""
    return Summary(
        title=f"Your {dialog.title.lower()}: please check it before it is sent",
        fields=_fields(dialog, state.answers),
        options=(Option("Submit", _value(dialog, summary="submit")),
                 Option("Change an answer", _value(dialog, summary="change")),
                 Option("Cancel", {"command": "cancel"})),
    )


def _fields(dialog: Dialog, answers: Answers) -> tuple[Field, ...]:
    return tuple(Field(s.label, s.display(answers[s.id])) for s in dialog.steps if s.id in answers)


def _value(dialog: Dialog, **extra: Any) -> dict[str, Any]:
    return {"dialog": dialog.name, **extra}


def _ask(dialog: Dialog, step: Step, state: State) -> Reply:
    hint = step.hint
    if step.optional:
        hint = (hint + " " if hint else "") + "(Say 'skip' if you'd rather not answer.)"
    current = step.display(state.answers[step.id]) if step.id in state.answers else ""
    if step.kind in (Kind.CHOICE, Kind.YES_NO):
        options = tuple(Option(c.label, _value(dialog, step=step.id, answer=c.value)) for c in step.options())
        return Choices(step.prompt, options, hint=hint if not current else f"{hint} Currently: {current}".strip())
    return Question(step.prompt, hint=hint, current=current)


def _advance(dialog: Dialog, state: State, ctx: Context, replies: list[Reply]) -> Turn:
    """Move to the next unanswered step that applies; at the end, show the summary or conclude."""
    _prune(dialog, state)
    upcoming = next((s for s in dialog.steps if s.id not in state.answers and s.applies(state.answers)), None)
    if upcoming is not None:
        state.step, state.phase = upcoming.id, "ask"
        for advice in upcoming.advice:
            if advice.topic not in state.shown and advice.applies(state.answers):
                state.shown.append(advice.topic)
                replies.extend(ctx.advice(advice.topic))
        replies.append(_ask(dialog, upcoming, state))
        return Turn(state, replies)
    state.step = None
    if dialog.submits:
        state.phase = "summary"
        replies.append(summary(dialog, state))
        return Turn(state, replies)
    replies.extend(dialog.conclude(state.answers, ctx))
    return Turn(None, replies)


def _prune(dialog: Dialog, state: State) -> None:
    """Forget answers to steps that no longer apply (an earlier answer changed the path)."""
    for step in dialog.steps:
        if step.id in state.answers and not step.applies(state.answers):
            del state.answers[step.id]
            state.trail = [s for s in state.trail if s != step.id]


def _on_answer(dialog: Dialog, state: State, inp: Input, value: dict[str, Any], ctx: Context) -> Turn:
    step = dialog.step(state.step) if state.step else None
    if step is None:
        return _advance(dialog, state, ctx, [])
    if value and value.get("step") != step.id:
        return Turn(state, [Text("That button belongs to an earlier question. Here is where we are now:"),
                            _ask(dialog, step, state)])
    try:
        answer = _read(step, inp, value, ctx)
    except Invalid as problem:
        return Turn(state, [Text(str(problem), tone="warning"), _ask(dialog, step, state)])
    state.answers[step.id] = answer
    state.trail = [s for s in state.trail if s != step.id] + [step.id]
    replies: list[Reply] = []
    notice = step.notices.get(answer) if isinstance(answer, str) else None
    if notice:
        replies.append(Text(notice.text.format_map(_Names(ctx.names)), tone=notice.tone))
    return _advance(dialog, state, ctx, replies)


def _read(step: Step, inp: Input, value: dict[str, Any], ctx: Context) -> Any:
    """The answer to keep for this step, or Invalid with a kind explanation."""
    if value:
        allowed = {c.value for c in step.options()}
        if value.get("answer") not in allowed:
            raise Invalid("Please pick one of the options.")
        return value["answer"]
    text = clean(inp.text)
    if step.optional and text.lower().strip(" .") in SKIP_WORDS:
        return ""
    options = step.options()
    if options:
        index = read_choice(text, [c.label for c in options], [c.keywords for c in options])
        if step.kind is Kind.YES_NO:
            return "yes" if read_yes_no(options[index].label) else "no"
        return options[index].value
    if step.kind is Kind.WHEN:
        return read_when(text, ctx.now)
    if step.kind is Kind.LINK:
        return read_link(text, step.max_chars)
    answer = read_text(text, step.min_chars, step.max_chars)
    return step.check(answer) if step.check else answer


def _back(dialog: Dialog, state: State, ctx: Context) -> Turn:
    if state.phase == "pick":
        state.phase = "summary"
        return Turn(state, [summary(dialog, state)])
    if not state.trail:
        return Turn(state, [Text("This is the first question."), *prompt(dialog, state)])
    previous = state.trail.pop()
    state.answers.pop(previous, None)
    return _advance(dialog, state, ctx, [Text("Going back one question.")])


def _on_summary(dialog: Dialog, state: State, inp: Input, value: dict[str, Any], ctx: Context) -> Turn:
    action = value.get("summary") if value else _summary_word(clean(inp.text))
    if action == "submit":
        category, urgency = dialog.classify(state.answers)
        done = Submission(dialog.name, category, urgency, dict(state.answers), _fields(dialog, state.answers))
        return Turn(None, [], submission=done)
    if action == "change":
        state.phase = "pick"
        return Turn(state, [_pick_choices(dialog, state)])
    return Turn(state, [Text("Nothing has been sent yet. Choose Submit to send it, Change an answer to correct "
                             "something, or Cancel.", tone="warning"), summary(dialog, state)])


def _summary_word(text: str) -> str:
    key = text.lower().strip(" .!")
    if key in {"submit", "send", "send it", "yes", "y", "confirm", "ok", "done", "1"}:
        return "submit"
    if key in {"change", "edit", "change an answer", "fix", "correct", "2"} or key.startswith(("change", "edit")):
        return "change"
    return ""


def _pick_choices(dialog: Dialog, state: State) -> Choices:
    answered = [s for s in dialog.steps if s.id in state.answers]
    options = [Option(s.label, _value(dialog, edit=s.id)) for s in answered]
    options.append(Option("Back to the summary", {"command": "back"}))
    return Choices("Which answer would you like to change?", tuple(options))


def _on_pick(dialog: Dialog, state: State, inp: Input, value: dict[str, Any], ctx: Context) -> Turn:
    answered = [s for s in dialog.steps if s.id in state.answers]
    chosen = value.get("edit") if value else None
    if not value:
        try:
            chosen = answered[read_choice(clean(inp.text), [s.label for s in answered])].id
        except Invalid as problem:
            return Turn(state, [Text(str(problem), tone="warning"), _pick_choices(dialog, state)])
    if chosen not in state.answers:
        return Turn(state, [_pick_choices(dialog, state)])
    step = dialog.step(chosen)
    state.step, state.phase = step.id, "ask"
    return Turn(state, [_ask(dialog, step, state)])


class _Names(dict):
    """Role names for notice templates; an unknown role reads as a generic title, never a KeyError."""

    def __missing__(self, key: str) -> str:
        return {"dsl": "the Designated Safeguarding Lead", "headteacher": "the Headteacher"}.get(key, "a senior leader")
