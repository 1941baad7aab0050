"""A Mermaid flowchart of a dialog, generated from its definition (so the picture cannot drift from the code).

`python -m dialogs.diagram DIR` writes one `.mmd` file per dialog.
"""
from __future__ import annotations

import sys
from pathlib import Path

from dialogs.engine import Dialog, Step


def _condition(step: Step, dialog: Dialog) -> str:
    parts = []
    for step_id, allowed in step.when.items():
        source = dialog.step(step_id)
        labels = [next((c.label for c in source.options() if c.value == v), v) for v in allowed]
        parts.append(f"{source.label}: {' / '.join(labels)}")
    return "; ".join(parts)


def _text(text: str) -> str:
    return text.replace('"', "'").replace("\n", " ")


def mermaid(dialog: Dialog) -> str:
    """The dialog as a Mermaid flowchart: each step, the conditions that lead to it, notices, and the ending."""
    lines = ["flowchart TD", f'    start(["{_text(dialog.title)}"])']
    for step in dialog.steps:
        lines.append(f'    {step.id}["{_text(step.prompt)}<br/><i>{step.kind.value}</i>"]')
    end = "summary" if dialog.submits else "decision"
    lines.append('    summary{{"Summary: submit, change an answer or cancel"}}' if dialog.submits
                 else '    decision(["Decision with the policy clauses quoted"])')
    previous = ["start"]
    for i, step in enumerate(dialog.steps):
        condition = _condition(step, dialog)
        for source in previous:
            lines.append(f'    {source} -->|"{_text(condition)}"| {step.id}' if condition
                         else f"    {source} --> {step.id}")
        for value, notice in step.notices.items():
            label = next((c.label for c in step.options() if c.value == value), value)
            lines.append(f'    {step.id} -.->|"{_text(label)}"| {step.id}_{value}>"{notice.tone}: '
                         f'{_text(notice.text)[:80]}…"]')
        # A conditional step may be skipped, so whatever led to it can also lead past it.
        previous = [*previous, step.id] if step.when else [step.id]
    for source in previous:
        lines.append(f"    {source} --> {end}")
    if dialog.submits:
        lines.append('    summary -->|"Change an answer"| edit(["Ask that step again"]) --> summary')
        lines.append('    summary -->|"Submit"| submitted(["Report stored, lead alerted, reference given"])')
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    """Write every dialog's diagram into the folder given."""
    from dialogs.catalog import DIALOGS

    folder = Path(argv[0] if argv else "dialogs/diagrams")
    folder.mkdir(parents=True, exist_ok=True)
    for dialog in DIALOGS.values():
        (folder / f"{dialog.name}.mmd").write_text(mermaid(dialog), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
