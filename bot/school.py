"""The school's configuration file (BOT_CONFIG, TOML): its policy, its leads, and which lead gets which report.

Read with pydantic so that a mistake in the file is reported with where it is, instead of surfacing later as
a report sent nowhere.
"""
from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

PLATFORMS = ("slack", "teams", "terminal")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Presence(_Strict):
    """A lead on one platform: the user ids that may act, and the channel alerts go to."""

    users: tuple[str, ...] = ()
    channel: str = ""


class Lead(_Strict):
    """A designated lead role: Designated Safeguarding Lead, Headteacher, SLT, Chair of Governors."""

    title: str
    name: str = ""
    deputy: str = ""
    slack: Presence = Presence()
    teams: Presence = Presence()
    terminal: Presence = Presence()

    def on(self, platform: str) -> Presence:
        """Who this lead is on a platform."""
        return getattr(self, platform, Presence())

    @property
    def called(self) -> str:
        """How the bot refers to the lead: their name, else their title."""
        return self.name or f"the {self.title}"


class School(_Strict):
    """The school itself."""

    name: str = "Example School"
    policy: str = "school-template"
    contact: str = "the Headteacher"
    ask_role: str = "headteacher"
    draft_hours: float = Field(72, gt=0)
    resume_after_minutes: float = Field(30, ge=0)


class Elsewhere(_Strict):
    """Who staff are sent to for matters the social media policy leaves to others (the vocabulary's `elsewhere`)."""

    pay: str = "the School Business Manager"
    it_support: str = "the school's IT support"
    data_rights: str = "the school's Data Protection Officer"

    def who(self, matter: str) -> str:
        """Who deals with a matter ("" for none this file knows)."""
        return getattr(self, matter, "") if matter in type(self).model_fields else ""


class Escalation(_Strict):
    """When unacknowledged reports remind, then go to the deputy."""

    remind_after_hours: float = Field(4, gt=0)
    reescalate_after_hours: float = Field(24, gt=0)


# Which report categories each retention period covers (the rest keep `keep_reports_years`).
PUPIL_CONCERNS = ("pupil_concern",)
STAFF_ALLEGATIONS = ("colleague_conduct", "headteacher_allegation")


class Retention(_Strict):
    """How long the bot keeps reports before `python -m bot reports purge` deletes them, in whole years counted from
    the last thing recorded on a report (submitted, acknowledged, assigned, a note, closed, a reminder).

    The defaults follow what schools in England commonly use (docs/operations.md gives the sources): a concern
    about a pupil is a child protection record, kept until the pupil is 25 (the IRMS Information Management
    Toolkit for Schools: date of birth + 25 years); the bot does not know the pupil's age, and 25 years from the
    report is never shorter. An allegation about a member of staff is kept until their normal pension age or for
    10 years, whichever is longer (Keeping children safe in education, part four; the IRMS toolkit likewise); the
    bot keeps 10 and the lead files it where the longer rule is applied. Anything else, 6 years: the Limitation Act
    1980's period for most claims, which school retention schedules commonly use for records about adults."""

    keep_reports_years: int = Field(6, ge=1)
    keep_pupil_concerns_years: int = Field(25, ge=1)
    keep_staff_allegations_years: int = Field(10, ge=1)

    def years_for(self, category: str) -> int:
        """How many years a report of this category is kept."""
        if category in PUPIL_CONCERNS:
            return self.keep_pupil_concerns_years
        if category in STAFF_ALLEGATIONS:
            return self.keep_staff_allegations_years
        return self.keep_reports_years


class SchoolConfig(_Strict):
    """The whole configuration file."""

    school: School = School()
    elsewhere: Elsewhere = Elsewhere()
    escalation: Escalation = Escalation()
    retention: Retention = Retention()
    routing: dict[str, str]
    leads: dict[str, Lead]

    @model_validator(mode="after")
    def _roles_exist(self) -> "SchoolConfig":
        for category, role in self.routing.items():
            if role not in self.leads:
                raise ValueError(f"routing.{category} names lead '{role}', which is not under [leads]")
        for role, lead in self.leads.items():
            if lead.deputy and lead.deputy not in self.leads:
                raise ValueError(f"leads.{role}.deputy names '{lead.deputy}', which is not under [leads]")
        if self.school.ask_role not in self.leads:
            raise ValueError(f"school.ask_role names '{self.school.ask_role}', which is not under [leads]")
        return self

    def lead_for(self, category: str) -> str:
        """The lead role a report category goes to (the 'other' route for a category not listed)."""
        return self.routing.get(category) or self.routing.get("other") or next(iter(self.leads))

    def roles_of(self, platform: str, user_id: str) -> list[str]:
        """The lead roles a person holds on a platform."""
        return [role for role, lead in self.leads.items() if user_id in lead.on(platform).users]


class ConfigError(ValueError):
    """The configuration file cannot be used; the message says where and why."""


def load_config(path: Path | None = None) -> SchoolConfig:
    """Read a configuration file, or the embedded example when none is given."""
    try:
        if path is None:
            raw = resources.files("bot").joinpath("config/school.toml").read_text(encoding="utf-8")
        else:
            raw = Path(path).read_text(encoding="utf-8")
        return SchoolConfig.model_validate(tomllib.loads(raw))
    except FileNotFoundError as missing:
        raise ConfigError(f"{path}: no such configuration file") from missing
    except tomllib.TOMLDecodeError as bad:
        raise ConfigError(f"{path}: not valid TOML: {bad}") from bad
    except ValidationError as invalid:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in invalid.errors())
        raise ConfigError(f"{path or 'embedded configuration'}: {problems}") from invalid
