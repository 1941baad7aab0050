"""Asking to open a school social-media account: the policies' process, put to SLT for approval."""
from __future__ import annotations

import re

from dialogs.engine import Advice, Answers, Choice, Dialog, Kind, Notice, Step
from dialogs.inputs import Invalid

ACCOUNT_REQUEST_CATEGORY = "account_request"


def two_named_staff(text: str) -> str:
    """At least two people named: the policies want more than one member of staff running an account."""
    names = [n for n in re.split(r",|;|\n|\band\b|&|\+|/", text) if sum(ch.isalpha() for ch in n) >= 2]
    if len(names) < 2:
        raise Invalid("Please name at least two members of staff who will run the account, separated by commas "
                      "(for example: Ms Khan, Mr Obi). An account run by one person can't be approved.")
    return text


STEPS = (
    Step("aim", "What is the account for? What do you want it to achieve?", Kind.TEXT, "Aim",
         hint="For example: share Year 6 sports results with families.", advice=(Advice("account_process"),),
         min_chars=10, max_chars=1000),
    Step("audience", "Who is it for?", Kind.TEXT, "Audience",
         hint="For example: parents and carers of the sports teams; the local community.", min_chars=3,
         max_chars=500),
    Step("platform", "Which platform?", Kind.CHOICE, "Platform", choices=(
        Choice("facebook", "Facebook", ("fb", "facebook")), Choice("instagram", "Instagram", ("insta", "ig")),
        Choice("x", "X (Twitter)", ("twitter", "x")), Choice("youtube", "YouTube", ("youtube",)),
        Choice("tiktok", "TikTok", ("tiktok",)), Choice("linkedin", "LinkedIn", ("linkedin",)),
        Choice("other", "Another platform", ("other", "another")))),
    Step("platform_other", "Which other platform?", Kind.TEXT, "Other platform",
         when={"platform": ("other",)}, max_chars=100),
    Step("promotion", "How will it be promoted?", Kind.TEXT, "How it is promoted",
         hint="For example: the newsletter, the school website, letters home.", min_chars=3, max_chars=500),
    Step("staff", "Which members of staff will run it? Name at least two.", Kind.TEXT, "Staff running it",
         advice=(Advice("account_two_staff"),), check=two_named_staff, max_chars=500),
    Step("visibility", "Will it be open to anyone, or closed to approved members?", Kind.CHOICE,
         "Open or closed", choices=(Choice("open", "Open (public)", ("open", "public")),
                                    Choice("closed", "Closed (approved members only)", ("closed", "private")))),
    Step("age_check", "Have you checked the platform's minimum age (13 on most) against the audience?",
         Kind.CHOICE, "Minimum age checked", advice=(Advice("account_age_limits"),),
         choices=(Choice("checked", "Yes, the audience is old enough", ("yes", "checked")),
                  Choice("too_young", "Some of the audience would be too young", ("young", "under")),
                  Choice("not_yet", "Not yet", ("not", "no"))),
         notices={"too_young": Notice("Pupils under the platform's minimum age must not be invited to use it. "
                                      "SLT will ask how the account avoids that.", tone="warning"),
                  "not_yet": Notice("Most platforms set 13 as the minimum age. Check before SLT reviews the "
                                    "request.", tone="advice")}),
)


def classify(answers: Answers) -> tuple[str, str]:
    """An account request always goes to SLT, at normal urgency."""
    return ACCOUNT_REQUEST_CATEGORY, "normal"


ACCOUNT_REQUEST = Dialog(
    name="account_request",
    title="Request for a school social media account",
    intro="I'll help you put together a request for a new school social media account. The policy asks for a "
          "few things before Senior Leadership can approve one; I'll ask for each in turn.",
    steps=STEPS,
    classify=classify,
)
