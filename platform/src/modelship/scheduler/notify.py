"""When a job ends: an email to the account's address and, if the job named one, a webhook.

SMTP comes from ``SMTP_URL`` (``smtp://[user:password@]host:port``, ``smtps://`` for TLS); the
webhook body is the job's JSON, signed ``X-Modelship-Signature: sha256=<hex>`` with
HMAC-SHA256 under ``WEBHOOK_SECRET``, retried with exponential backoff on errors and 5xx.

Both are sent at least once: a worker that loses its settlement lease while notifying leaves
the job to another, which notifies again. So a repeat can be told apart: the email's
``Message-ID`` is the job's own (mail systems and clients drop a second copy), and the
webhook body carries the job's ``id`` for the receiver to deduplicate on.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import logging
import smtplib
import socket
import time
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from urllib.parse import unquote, urlparse

import httpx

from modelship.settings import Settings

log = logging.getLogger("modelship.scheduler")
SIGNATURE = "X-Modelship-Signature"


def message_id(sender: str, job_id: str) -> str:
    """The one ``Message-ID`` of a job's email, under the sender's domain."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "modelship"
    return f"<job-{job_id}@{domain}>"


def send_email(settings: Settings, to: str, job: dict) -> bool:
    if settings.smtp_url is None or not to:
        return False
    url = urlparse(settings.smtp_url.get_secret_value())
    message = EmailMessage()
    message["From"], message["To"] = settings.smtp_from, to
    message["Subject"] = f"modelship job {job['id']} {job['status']}"
    message["Message-ID"] = message_id(settings.smtp_from, job["id"])
    message["Date"] = formatdate(usegmt=True)  # required by RFC 5322; smtplib adds none
    message.set_content(
        f"Your job on model {job['model']} {job['status']}.\n\n"
        f"rows: {job['rows_done']} of {job['rows']}\n"
        f"charge: {job['charge']}\n"
        + (f"error: {job['error']}\n" if job.get("error") else "")
        + f"result: {job['result_url']}\n"
    )
    smtp_class = smtplib.SMTP_SSL if url.scheme == "smtps" else smtplib.SMTP
    try:
        with smtp_class(url.hostname, url.port or 25, timeout=30) as smtp:
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:  # never the URL: it may hold a password
        log.warning("job %s: email not sent: %s", job["id"], type(exc).__name__)
        return False
    return True


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_problem(url: str, private_ok: bool) -> str | None:
    """Why a webhook URL is refused (None when it is fine). A user's URL is a request the
    platform makes from inside the cluster: unless ``WEBHOOK_PRIVATE_OK``, every address the
    host resolves to must be a public one (no loopback, private range or 169.254.169.254)."""
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL"
    if private_ok:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, ValueError):
        return f"host {parts.hostname!r} does not resolve"
    for *_, address in found:
        ip = ipaddress.ip_address(address[0])
        if not ip.is_global:
            return f"{parts.hostname} is {ip}, not a public address"
    return None


def call_webhook(settings: Settings, url: str, job: dict) -> bool:
    problem = webhook_problem(url, settings.webhook_private_ok)  # again: DNS may have changed
    if problem:
        log.warning("job %s: webhook refused: %s", job["id"], problem)
        return False
    body = json.dumps(job, sort_keys=True).encode()
    headers = {"Content-Type": "application/json"}
    if settings.webhook_secret is not None:
        headers[SIGNATURE] = sign(settings.webhook_secret.get_secret_value(), body)
    for attempt in range(settings.webhook_attempts):
        try:
            answer = httpx.post(url, content=body, headers=headers, timeout=10)
            if answer.status_code < 500:
                return answer.is_success
        except httpx.HTTPError:
            pass
        if attempt + 1 < settings.webhook_attempts:
            time.sleep(settings.webhook_backoff_s * 2**attempt)
    log.warning("job %s: webhook failed %d times", job["id"], settings.webhook_attempts)
    return False
