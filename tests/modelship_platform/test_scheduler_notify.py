"""A job's email, over a real SMTP server (aiosmtpd): sent at least once, so a repeat is the
same message."""

from __future__ import annotations

from modelship.scheduler.notify import send_email
from modelship.settings import Settings

from modelship_platform.scheduler_parts import smtp_server


def _job(job_id: str) -> dict:
    return {"id": job_id, "model": "scorer", "status": "succeeded", "rows": 3, "rows_done": 3,
            "charge": "0.004000", "error": None, "result_url": f"https://x.test/{job_id}"}  # fmt: skip


def test_a_repeated_email_carries_the_jobs_one_message_id() -> None:
    """A worker whose settlement lease ran out mid-notification leaves the job to another,
    which sends again: mail systems drop the copy by its Message-ID."""
    with smtp_server() as (smtp_url, inbox):
        settings = Settings(smtp_url=smtp_url, smtp_from="Jobs <jobs@example.test>")
        for job_id in ("j-1", "j-1", "j-2"):
            assert send_email(settings, "alice@example.test", _job(job_id))
    first, again, other = (mail["Message-ID"] for mail in inbox.messages)
    assert first == again == "<job-j-1@example.test>"
    assert other == "<job-j-2@example.test>"
    assert all(mail["Date"].datetime.tzinfo is not None for mail in inbox.messages)
