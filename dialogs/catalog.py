"""Every guided dialog the bot offers, by name."""
from __future__ import annotations

from dialogs.account_request import ACCOUNT_REQUEST
from dialogs.engine import Dialog
from dialogs.friend_request import FRIEND_REQUEST
from dialogs.incident_report import INCIDENT_REPORT

DIALOGS: dict[str, Dialog] = {d.name: d for d in (INCIDENT_REPORT, FRIEND_REQUEST, ACCOUNT_REQUEST)}
