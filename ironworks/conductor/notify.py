"""Alarm notifications: webhooks (HTTP POST of JSON) and e-mail (SMTP), retried, safe to repeat.

The sensor cycle queues a row per (alarm, event, channel, target) in the same transaction as the
alarm's change (`db/monitoring.enqueue`), so a crash loses none. Any conductor sends what is due:
it claims one try of a row by moving its `next_at` (compare-and-set), sends, and marks it sent
or schedules the next try (`notify_backoff`, doubled each time, up to `notify_attempts`).

Sent at least once: a try that reached the receiver but whose answer was lost is sent again. So
every try of a notification carries the same key, `<alarm uuid>:<event>`: the webhook's
`Idempotency-Key` header and `id` field, the e-mail's Message-ID; a receiver drops repeats by it.
"""

from __future__ import annotations

import json
import logging
import smtplib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx

from ironworks.db import monitoring as mon_db
from ironworks.db.engine import Database, as_utc, utcnow

log = logging.getLogger(__name__)

BATCH = 100


def payload(row: dict[str, Any]) -> dict[str, Any]:
    """What a webhook receives (and an e-mail says) about one alarm event."""

    def ts(v: Any) -> str | None:
        v = as_utc(v)
        return v.isoformat() if v is not None else None

    return {
        "id": f"{row['alarm_uuid']}:{row['event']}",
        "event": row["event"],
        "alarm": {
            "uuid": row["alarm_uuid"],
            "rule": row["rule"],
            "condition": row["condition"],
            "severity": row["severity"],
            "state": row["state"],
            "summary": row["summary"],
            "fired_at": ts(row["fired_at"]),
            "resolved_at": ts(row["resolved_at"]),
            "node": {"uuid": row["node_uuid"], "name": row["node_name"]},
        },
    }


class Notifier:
    def __init__(self, db: Database, settings: Any) -> None:
        self.db = db
        self.settings = settings
        self.wake = threading.Event()

    @property
    def cfg(self) -> Any:
        return self.settings.monitoring

    def run(self, now: datetime | None = None) -> int:
        """Send every notification due now (in parallel, each within notify_timeout); how many
        went out."""
        now = now or utcnow()
        cfg = self.cfg
        with self.db.read() as conn:
            due = mon_db.due(conn, now, BATCH)
        mine = []
        until = now + timedelta(seconds=2 * cfg.notify_timeout + 5)
        with self.db.write() as conn:
            for row in due:
                if mon_db.claim(conn, row, until):
                    mine.append(row)
        if not mine:
            return 0
        with ThreadPoolExecutor(min(8, len(mine)), thread_name_prefix="notify") as pool:
            results = list(pool.map(self._try, mine))
        sent = 0
        with self.db.write() as conn:
            for row, error in zip(mine, results, strict=True):
                if error is None:
                    mon_db.sent(conn, row["id"], utcnow())
                    sent += 1
                    continue
                attempts = row["attempts"] + 1
                retry = None
                if attempts < cfg.notify_attempts:
                    retry = utcnow() + timedelta(seconds=cfg.notify_backoff * 2 ** (attempts - 1))
                mon_db.failed(conn, row["id"], error, retry)
                log.warning(
                    "alarm %s: %s to %s failed (try %d%s): %s",
                    row["alarm_uuid"],
                    row["channel"],
                    row["target"],
                    attempts,
                    "" if retry else ", given up",
                    error,
                )
        return sent

    def _try(self, row: dict[str, Any]) -> str | None:
        """None when sent; else the sentence saying why not."""
        try:
            if row["channel"] == "webhook":
                self._post(row)
            else:
                self._mail(row)
            return None
        except Exception as e:
            return f"{type(e).__name__}: {e}"

    def _post(self, row: dict[str, Any]) -> None:
        body = payload(row)
        r = httpx.post(
            row["target"],
            json=body,
            headers={"Idempotency-Key": body["id"], "User-Agent": "ironworks-alarms"},
            timeout=self.cfg.notify_timeout,
        )
        if r.status_code >= 300:
            raise RuntimeError(f"the webhook answered {r.status_code}")

    def _mail(self, row: dict[str, Any]) -> None:
        cfg = self.cfg
        body = payload(row)
        alarm = body["alarm"]
        msg = EmailMessage()
        node = alarm["node"]["name"] or alarm["node"]["uuid"]
        msg["Subject"] = (
            f"[ironworks] {alarm['severity'].upper()} {row['event']}: {node}: {alarm['summary']}"
        )[:200]
        msg["From"] = cfg.email_from
        msg["To"] = row["target"]
        msg["Message-ID"] = f"<{body['id'].replace(':', '.')}@ironworks>"
        msg.set_content(
            f"Alarm {alarm['uuid']} {row['event']}.\n\n"
            f"Node:     {node} ({alarm['node']['uuid']})\n"
            f"Severity: {alarm['severity']}\nRule:     {alarm['rule']}\n"
            f"Summary:  {alarm['summary']}\nFired:    {alarm['fired_at']}\n"
            + (f"Resolved: {alarm['resolved_at']}\n" if alarm["resolved_at"] else "")
            + "\n"
            + json.dumps(body, indent=2)
            + "\n"
        )
        with smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.notify_timeout) as smtp:
            if cfg.smtp_starttls:
                smtp.starttls()
            if cfg.smtp_username:
                password = cfg.smtp_password.get_secret_value() if cfg.smtp_password else ""
                smtp.login(cfg.smtp_username, password)
            smtp.send_message(msg)
