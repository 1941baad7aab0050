"""Reporting an incident: cyberbullying of staff, a worrying post about a pupil, a damaging post about the school.

What a lead needs from a safeguarding record, in the order a person can give it: facts, exact words, when,
where, who and in what role, what evidence is kept, what the reporter already did. Urgent risk comes first.
"""
from __future__ import annotations

from dialogs.engine import Advice, Answers, Choice, Dialog, Kind, Notice, Step

STAFF_ABUSE = "staff_abuse"
PUPIL_CONCERN = "pupil_concern"
SCHOOL_REPUTATION = "school_reputation"
COLLEAGUE_CONDUCT = "colleague_conduct"
MEDIA = "media"
OTHER = "other"
HEADTEACHER_ALLEGATION = "headteacher_allegation"  # a colleague-conduct report about the Headteacher

CATEGORY_NAMES = {
    STAFF_ABUSE: "Cyberbullying or abuse of a staff member",
    PUPIL_CONCERN: "Safeguarding concern about a pupil",
    SCHOOL_REPUTATION: "Offensive or damaging post about the school",
    COLLEAGUE_CONDUCT: "A colleague's conduct online",
    HEADTEACHER_ALLEGATION: "Concern about the Headteacher's conduct online",
    MEDIA: "Contact from a journalist or the media",
    OTHER: "Other online incident",
}

_NOT_MEDIA = (STAFF_ABUSE, PUPIL_CONCERN, SCHOOL_REPUTATION, COLLEAGUE_CONDUCT, OTHER)

STEPS = (
    Step("risk", "First, is a child at immediate risk of harm, or is anyone's life under threat?", Kind.CHOICE,
         "Immediate risk",
         choices=(Choice("yes", "Yes", ("yes", "y")), Choice("no", "No", ("no", "n")),
                  Choice("unsure", "I'm not sure", ("sure", "unsure", "know"))),
         notices={
             "yes": Notice("Stop here first. Speak to {dsl} now, in person or by phone. If a child is in immediate "
                           "danger or someone's life is at risk, call 999. This report does not replace that: "
                           "when you have spoken to them, carry on here to put it in writing."),
             "unsure": Notice("If you're unsure, treat it as urgent: speak to {dsl} today, before you leave "
                              "school. Then carry on here to put it in writing.", tone="warning"),
         }),
    Step("category", "What is it about?", Kind.CHOICE, "Category", choices=(
        Choice(STAFF_ABUSE, "Cyberbullying or abuse of a staff member", ("cyberbullying", "bullying", "abuse",
                                                                         "harassment", "trolling", "me")),
        Choice(PUPIL_CONCERN, "A worrying post or message by or about a pupil", ("pupil", "student", "child",
                                                                                   "safeguarding", "worrying")),
        Choice(SCHOOL_REPUTATION, "An offensive or damaging post about the school", ("school", "offensive",
                                                                                      "reputation", "damaging")),
        Choice(COLLEAGUE_CONDUCT, "A colleague's conduct online", ("colleague", "conduct", "teacher")),
        Choice(MEDIA, "Contact from a journalist or the media", ("journalist", "media", "press", "newspaper",
                                                                 "reporter")),
        Choice(OTHER, "Something else", ("else", "other")),
    )),
    Step("about_head", "Is your concern about the Headteacher?", Kind.YES_NO, "About the Headteacher",
         when={"category": (COLLEAGUE_CONDUCT,)},
         hint="If it is, the report goes to the Chair of Governors instead of the Headteacher."),
    Step("affected", "Who is affected?", Kind.TEXT, "Who is affected",
         when={"category": _NOT_MEDIA},
         hint="For example: me, a colleague by name, or a pupil by initials and year group (initials are enough).",
         advice=(Advice("safeguarding_concern", when={"category": (PUPIL_CONCERN,)}),
                 Advice("colleague_conduct", when={"category": (COLLEAGUE_CONDUCT,)})),
         max_chars=300),
    Step("outlet", "Which publication or outlet was it, and how did they contact you?", Kind.TEXT,
         "Outlet and contact", when={"category": (MEDIA,)},
         hint="For example: a reporter from the local paper, by phone to the school office.",
         advice=(Advice("media_contact"),), max_chars=500),
    Step("what", "What happened? Facts only, please: what was posted, sent or said, with the exact words where "
                 "you know them.", Kind.TEXT, "What happened",
         hint="Describe what you saw; don't paste or forward images of pupils.",
         advice=(Advice("dont_engage", when={"category": (STAFF_ABUSE, SCHOOL_REPUTATION, OTHER)}),),
         min_chars=15, max_chars=4000),
    Step("when", "When did it happen, or when did you first see it?", Kind.WHEN, "When",
         hint="For example: today, yesterday at 8pm, last Friday, 18/11/2026."),
    Step("where", "Where is it? The platform, and the link or account name if you have them.", Kind.LINK,
         "Where", when={"category": _NOT_MEDIA}, hint="For example: Facebook, the 'Town Mums' group, or a link."),
    Step("involved", "Who is involved, and in what role?", Kind.TEXT, "Who is involved",
         hint="For example: a parent of a Year 5 pupil, a former pupil, an anonymous account.", max_chars=1000),
    Step("evidence", "What evidence have you kept?", Kind.CHOICE, "Evidence kept",
         when={"category": _NOT_MEDIA},
         choices=(Choice("full", "Screen grabs with the time, date and web address", ("full", "time", "address")),
                  Choice("partial", "Screen grabs without the time, date or address", ("without",)),
                  Choice("link", "A link only", ("link",)),
                  Choice("none", "Nothing yet", ("nothing", "none"))),
         advice=(Advice("keep_evidence"), Advice("no_images_of_pupils", when={"category": (PUPIL_CONCERN,)})),
         notices={"none": Notice("If it is still there, take a screen grab now showing the time, date and web "
                                 "address, and keep it safe. If it shows a pupil in an indecent way, don't copy it: "
                                 "describe it and tell {dsl}.", tone="advice"),
                  "partial": Notice("If you can, take another that shows the time, date and web address.",
                                    tone="advice")}),
    Step("evidence_notes", "Describe what the evidence shows, in words.", Kind.TEXT, "Evidence described",
         when={"evidence": ("full", "partial", "link")}, optional=True, max_chars=2000,
         hint="Don't attach or forward images, especially of pupils; a description is what is needed."),
    Step("actions", "What have you done so far, and who have you told?", Kind.TEXT, "Done so far and told",
         hint="For example: 'Told my line manager, not replied to the post'. If nothing yet, say 'nothing yet'.",
         min_chars=2, max_chars=2000),
)


def classify(answers: Answers) -> tuple[str, str]:
    """The report's category (who it goes to) and urgency."""
    category = answers.get("category", OTHER)
    if category == COLLEAGUE_CONDUCT and answers.get("about_head") == "yes":
        category = HEADTEACHER_ALLEGATION
    if answers.get("risk") == "yes":
        urgency = "urgent"
    elif answers.get("risk") == "unsure" or category == PUPIL_CONCERN:
        urgency = "high"
    else:
        urgency = "normal"
    return category, urgency


INCIDENT_REPORT = Dialog(
    name="incident_report",
    title="Incident report",
    intro="I'll take you through an incident report, one question at a time. Type 'back' to change the last "
          "answer, 'cancel' to stop, or 'help'. Nothing is sent until you've checked the summary.",
    steps=STEPS,
    classify=classify,
)
