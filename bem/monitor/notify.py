"""E-mail of the report through SMTP: the HTML page as the body, the JSON summary attached;
its alerts one line each for the terminal."""

from __future__ import annotations

import json
import smtplib
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from typing import Any


def alert_line(alert: dict[str, Any]) -> str:
    """One alert of a report summary as one line: day, metric, kind, change, where, why."""
    return (
        f"ALERT {alert['day']} {alert['metric']} {alert['kind']}: "
        f"{alert['expected']:.3f} -> {alert['value']:.3f} "
        f"[{alert['source']}, {alert['segment']}; {alert['attribution']['reason']}]"
    )


def report_message(
    sender: str, recipients: Sequence[str], summary: dict[str, Any], page: str
) -> EmailMessage:
    """The message: subject says ALERT or OK, HTML body, summary.json attached."""
    period = summary["period"]
    state = f"ALERT ({len(summary['alerts'])})" if summary["alert"] else "OK"
    message = EmailMessage()
    message["Subject"] = f"[bem monitor] {state} {period['start']} – {period['end']}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message.set_content("The monitoring report is the HTML part of this message.")
    message.add_alternative(page, subtype="html")
    message.add_attachment(
        json.dumps(summary, indent=2, default=str).encode("utf-8"),
        maintype="application",
        subtype="json",
        filename="summary.json",
    )
    return message


def send_report(
    message: EmailMessage,
    host: str,
    port: int = 25,
    starttls: bool = False,
    username: str | None = None,
    password: str | None = None,
    smtp_factory: Callable[..., smtplib.SMTP] = smtplib.SMTP,
    timeout_s: float = 30.0,
) -> None:
    """Send through the SMTP server at host:port (STARTTLS and login when asked)."""
    with smtp_factory(host, port, timeout=timeout_s) as client:
        if starttls:
            client.starttls()
        if username:
            client.login(username, password or "")
        client.send_message(message)
