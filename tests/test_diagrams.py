"""Each dialog's diagram is generated from its definition; the committed copies must match the code."""
from __future__ import annotations

from pathlib import Path

import pytest

from dialogs.catalog import DIALOGS
from dialogs.diagram import mermaid

FOLDER = Path(__file__).parent.parent / "dialogs" / "diagrams"


@pytest.mark.parametrize("name", sorted(DIALOGS))
def test_the_committed_diagram_is_the_generated_one(name):
    committed = (FOLDER / f"{name}.mmd").read_text(encoding="utf-8")
    assert committed == mermaid(DIALOGS[name]), "run: python -m bot diagrams"


@pytest.mark.parametrize("name", sorted(DIALOGS))
def test_every_step_and_every_branch_condition_is_in_the_diagram(name):
    dialog = DIALOGS[name]
    drawn = mermaid(dialog)
    for step in dialog.steps:
        assert f"    {step.id}[" in drawn
        for condition_step in step.when:
            assert dialog.step(condition_step).label in drawn
