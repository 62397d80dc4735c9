"""A batch above the interactive limit runs as a scheduler job: the catalog submits the checked
upload to the scheduler's ``/v1/jobs`` with the viewer's session key (so it is held and charged
by billing like any job) and shows its progress on ``/jobs/{id}`` until the result is ready."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from modelship.catalog.billing_client import Billing, detail_of
from modelship.catalog.render import render
from modelship.catalog.session import SignedIn, checked_form
from modelship.catalog.tryit import stored_upload
from modelship.catalog.visibility import model_or_404

router = APIRouter()
RUNNING = ("queued", "running")


def scheduler(request: Request) -> Billing:
    found = request.app.state.scheduler
    if found is None:
        raise HTTPException(503, "async jobs need MODELSHIP_SCHEDULER_URL (the scheduler)")
    return found


@router.post("/models/{name}/batch/{token}/job")
async def submit(name: str, token: str, request: Request, who: SignedIn):
    model_or_404(request, who, name)
    await checked_form(request)
    upload = stored_upload(request, who, name, token)
    answer = await scheduler(request).call(
        "POST",
        "/v1/jobs",
        who.key,
        data={"model": name},
        files={"file": ("upload.json", upload.records.encode(), "application/json")},
        headers={"Idempotency-Key": f"catalog-upload-{token}"},  # a double submit: one job
    )
    if answer.status_code >= 400:
        raise HTTPException(answer.status_code, detail_of(answer))
    return RedirectResponse(f"/jobs/{answer.json()['id']}", status_code=303)


async def _job(request: Request, who, job_id: str) -> dict:
    return await scheduler(request).json("GET", f"/v1/jobs/{job_id}", who.key)


@router.get("/jobs/{job_id}")
async def job_page(job_id: str, request: Request, who: SignedIn):
    job = await _job(request, who, job_id)
    # the page follows the job until its charge is settled (just after it ends)
    following = job["status"] in RUNNING or not job["settled_at"]
    return render(request, "job.html", job=job, running=following)


@router.get("/jobs/{job_id}/result.csv")
async def job_result(job_id: str, request: Request, who: SignedIn):
    answer = await scheduler(request).call(
        "GET", f"/v1/jobs/{job_id}/result", who.key, headers={"Accept": "text/csv"}
    )
    if answer.status_code >= 400:
        raise HTTPException(answer.status_code, detail_of(answer))
    disposition = {"Content-Disposition": f'attachment; filename="job-{job_id}.csv"'}
    return Response(answer.content, media_type="text/csv", headers=disposition)
