"""Which guided dialog, if any, fits a message: declared as data, matched on the terms a message mentions.

A route fires when every one of its groups has a term in the message and none of its `unless` terms is there.
Terms are stems, concepts from the staff vocabulary ("@abuse"), plain words ("me"), or exact word forms
("=doing": "doing" but not "do", whose stem it shares and which nearly every question has). The first dialog
with a firing route wins, so a message about abuse from a parent is an incident before it is a friend-request
question.
"""
from __future__ import annotations

from dataclasses import dataclass

from collections.abc import Sequence

from knowledge.analysis import Analysed, stem

INCIDENT_REPORT = "incident_report"
FRIEND_REQUEST = "friend_request"
ACCOUNT_REQUEST = "account_request"

PEOPLE = ("@pupil", "@parent", "@former_pupil", "@family", "@colleague", "@manager", "@head", "@scope_people")
ACCOUNT_WORDS = "@account facebook instagram twitter tiktok youtube snapchat linkedin channel page blog @blog"
# Who a school page would be for: the school or a part of it, and a subject, sport or club as much as a department.
ACCOUNT_OWNERS = ("school class department dept pta club team library form year residential trip official sixth "
                  "subject pe sport sports music drama art science maths geography history choir band netball football "
                  "rugby fair fete @pupil @parent")


@dataclass(frozen=True, slots=True)
class Route:
    """A dialog and the groups of terms that together suggest it, unless the message has one of `unless`."""

    dialog: str
    groups: tuple[frozenset[str], ...]
    unless: frozenset[str] = frozenset()


def _terms(group: str) -> frozenset[str]:
    """Space-separated terms; plain words are stemmed, concepts and exact forms kept as they are."""
    return frozenset(t if t.startswith(("@", "=")) else stem(t) for t in group.split())


def _route(dialog: str, *groups: str, unless: str = "") -> Route:
    """Build a route from space-separated groups of terms."""
    return Route(dialog, tuple(_terms(group) for group in groups), _terms(unless))


ROUTES: tuple[Route, ...] = (
    # Something happened: abuse, grooming or self-harm named outright ...
    _route(INCIDENT_REPORT, "@abuse @grooming @self_harm"),
    # ... a wish to report an incident, a post, or something on social media ("a tiktok going round about our
    # school, want to report it") ...
    _route(INCIDENT_REPORT, "@report_verb",
           "incident @offensive @defamation @abuse concern worrying post @post @social_media @image @message"),
    # ... something false or offensive about the person, a colleague or the school ...
    _route(INCIDENT_REPORT, "@defamation @offensive", "me my i colleague @colleague school teacher staff @head"),
    # ... a picture or post of the person put out without their permission ("posted a video of me without my
    # permission") ...
    _route(INCIDENT_REPORT, "@image @post", "@targeted", "without"),
    # ... or put out by someone else, done already ("a parent has posted a video of me telling off her son") ...
    _route(INCIDENT_REPORT, "@image", "@targeted", "@parent @pupil @former_pupil @colleague someone somebody",
           "=posted =shared =uploaded =filmed =put"),
    # ... a worrying post or message ...
    _route(INCIDENT_REPORT, "worrying worried concerning concerned disturbing alarming",
           "@post @message @image @social_media"),
    # ... or a parent or pupil running down the school or its staff ("a dad is slagging off the school on fb").
    _route(INCIDENT_REPORT, "@grievance", "@parent @pupil @former_pupil someone somebody people",
           "school teacher staff me colleague @colleague @head @manager"),
    _route(FRIEND_REQUEST, "@befriend", " ".join(PEOPLE) + " request"),
    # "is it weird to add my line manager on fb?", "can I stay in touch with kids from my old school on snapchat?",
    # "can i still chat to my nephew on snap?"; adding a photo of them, or keeping in touch through the school's
    # page, is something else.
    _route(FRIEND_REQUEST, "=add =adding =added touch =chat =chatting", " ".join(PEOPLE) + " class", "@social_media",
           unless="@image @post @account @create"),
    # "a kid from my class found me on xbox and wants to play online": a pupil asking to play is asking to connect;
    # a game played in a lesson is not, and nor is playing one where pupils do too.
    _route(FRIEND_REQUEST, "@gaming", " ".join(PEOPLE), "=wants =asked =asking =add =added =invite =invited",
           unless="@teaching"),
    _route(ACCOUNT_REQUEST, "@create", "@account"),
    # "start an instagram for the school library", "open a YouTube channel for the science dept", "we want a
    # facebook page for the pta", "we'd like a blog for the library"; but "can I rant on facebook about how the
    # school is run?" wants no page, "a photo of me at the fun run, ok for my fb?" is about a picture, and "a mum
    # doesnt want her kid on the school page" objects to one.
    _route(ACCOUNT_REQUEST, "@create open make run request proposal propose application apply =doing =going "
           "=want =id =wed =thinking =planning process procedure", ACCOUNT_WORDS, ACCOUNT_OWNERS,
           unless="@grievance @image @objection"),
    # "can the PE department have its own X account?": a part of the school with a page of its own
    _route(ACCOUNT_REQUEST, "=its", "=own", ACCOUNT_WORDS, ACCOUNT_OWNERS, unless="@grievance @image"),
    # "who signs off a facebook page for the pta?": approval of a page, not of a picture or a post on one
    _route(ACCOUNT_REQUEST, "@approval", ACCOUNT_WORDS, ACCOUNT_OWNERS, unless="@image @post @message"),
    _route(ACCOUNT_REQUEST, "business", "case"),
    # Last, as weaker evidence than asking for a page ("I'd like a private facebook group for our most vulnerable
    # pupils"): a pupil's post or message that raises a safeguarding concern ("a kid commented on our class blog
    # that things are really bad at home", "a pupil who has gone missing posted where they are").
    _route(INCIDENT_REPORT, "@safeguarding @disclosure", "@pupil @former_pupil", "@post @message @location"),
)


def route(analysed: Analysed, message_words: Sequence[str]) -> str | None:
    """The dialog that fits a message (analysed, and its words including stop words), or None."""
    present = {*analysed.stems, *analysed.concepts, *(stem(w) for w in message_words),
               *(f"={w.lower()}" for w in message_words)}
    for candidate in ROUTES:
        if all(group & present for group in candidate.groups) and not candidate.unless & present:
            return candidate.dialog
    return None
