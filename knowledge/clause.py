"""The clause: the unit the knowledge base indexes, cites and quotes."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Clause:
    """One citable piece of a policy: a numbered clause, a paragraph, a bullet or a table row."""

    source: str  # the policy's id: its file name without the extension, e.g. "qeii-school"
    number: str  # "6.7", "5.3(b)", or a heading path with a position when the policy numbers nothing
    title: str  # the nearest heading, e.g. "Personal use of social media"
    text: str  # the wording exactly as written (markup and bullet markers removed)
    context: str = ""  # the lead-in sentence (or sub-heading) a bullet depends on, for reading and search
    headings: str = ""  # the heading path, "Personal use › Pupil/Students", searched with a lower weight
    also_in: tuple[str, ...] = field(default=())  # other policies with the same wording

    @property
    def sources(self) -> tuple[str, ...]:
        """Every policy this wording appears in, this clause's own first."""
        return (self.source, *self.also_in)

    def quoted(self) -> str:
        """The clause as a person should read it: lead-in, then the clause's own words."""
        return f"{self.context} — {self.text}" if self.context else self.text
