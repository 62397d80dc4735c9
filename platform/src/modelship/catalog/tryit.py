"""Try it: one record from the generated form, or a batch file checked before it is sent.

Every prediction goes through billing's gateway with the viewer's session key. A batch is
checked against the signature first; a file with a bad row is refused with each row's place
and reason, and nothing is sent (so nothing is charged).
"""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import delete
from starlette.datastructures import UploadFile

from modelship.catalog import results
from modelship.catalog.forms import check_record
from modelship.catalog.models import Upload
from modelship.catalog.pages import model_context
from modelship.catalog.render import render
from modelship.catalog.session import SignedIn, Viewer, checked_form
from modelship.catalog.uploads import UploadError, read_records
from modelship.catalog.visibility import model_or_404
from modelship.ledger import now

router = APIRouter(prefix="/models/{name}")
PREVIEW_ROWS = 5
SHOWN_ROWS = 200
KEEP = timedelta(days=1)


def _page(request, model, status_code=200, **extra):
    return render(request, "model.html", status_code, **model_context(request, model), **extra)


async def _gateway(request: Request, who: Viewer, name: str, route: str, body) -> dict:
    """Billing's answer: status, charge, the JSON (or None when too big to show) and size."""
    answer = await request.app.state.billing.call(
        "POST", f"/v1/models/{name}/{route}", who.key, json=body
    )
    try:
        parsed = answer.json()
    except ValueError:
        parsed = {"detail": answer.text[:500]}
    return {
        "status": answer.status_code,
        "charge": answer.headers.get("x-modelship-charge", "0"),
        "json": parsed,
        "size": len(answer.content),
    }


@router.post("/predict")
async def predict(name: str, request: Request, who: SignedIn):
    model = model_or_404(request, who, name)
    form = await checked_form(request, request.app.state.settings.upload_max_bytes)
    spec = model_context(request, model)["spec"]
    record = {}
    for control in spec.controls:
        value = form.get(control.name)
        if control.input_type == "checkbox":
            value = value is not None
        elif isinstance(value, UploadFile):
            value = await value.read() if value.filename else None
        record[control.name] = value
    for tensor in spec.tensors:
        record[tensor.name] = form.get(tensor.name)
    if spec.kind == "free":
        try:
            record = json.loads(str(form.get("record") or "{}"))
        except ValueError as exc:
            return _page(request, model, 422, problems=[f"record: not JSON: {exc}"])
    typed, problems = check_record(spec, record)
    if problems:
        return _page(request, model, 422, problems=problems, filled=record)
    answer = await _gateway(request, who, name, "predict", typed)
    too_big = answer["size"] > request.app.state.settings.answer_max_bytes
    token = None
    if too_big and answer["status"] == 200:  # offered as a download, not rendered
        token = _store(request, who, name, "form", [typed], [answer["json"]])
    return _page(request, model, result=answer, too_big=too_big, filled=record, token=token)


def _store(request, who: Viewer, name: str, filename: str, records, answers=None) -> str:
    """Keep checked records (and answers) for the next step; one's uploads of more than a day
    ago are dropped meanwhile."""
    token = secrets.token_urlsafe(24)
    with request.app.state.db.begin() as s:
        s.execute(delete(Upload).where(Upload.account_id == who.caller.id,
                                       Upload.created_at < now() - KEEP))  # fmt: skip
        s.add(Upload(token=token, account_id=who.caller.id, model=name, filename=filename,
                     records=json.dumps(records), row_count=len(records),
                     answers=None if answers is None else json.dumps(answers)))  # fmt: skip
    return token


@router.post("/batch")
async def check_batch(name: str, request: Request, who: SignedIn):
    """The uploaded file read and checked against the signature; nothing sent yet."""
    model = model_or_404(request, who, name)
    limit = request.app.state.settings.upload_max_bytes
    form = await checked_form(request, limit)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, model, 422, batch_problems=["file: choose a file to upload"])
    too_big = [f"file: larger than {limit} bytes"]
    if (upload.size or 0) > limit:
        return _page(request, model, 413, batch_problems=too_big)
    data = await upload.read()
    if len(data) > limit:
        return _page(request, model, 413, batch_problems=too_big)
    try:
        located = read_records(upload.filename, data)
    except UploadError as exc:
        return _page(request, model, 422, batch_problems=[str(exc)])
    spec = model_context(request, model)["spec"]
    records, bad = [], []
    for where, record in located:
        if isinstance(record, Exception) or not isinstance(record, dict):
            bad.append((where, str(record) if isinstance(record, Exception) else "not a record"))
            continue
        typed, problems = check_record(spec, record)
        bad += [(where, p) for p in problems]
        records.append(typed)
    if not located:
        bad.append(("file", "no records"))
    if bad:
        return _page(request, model, 422, bad_rows=bad, filename=upload.filename)
    token = _store(request, who, name, upload.filename, records)
    header, rows = results.table(records[:PREVIEW_ROWS], [])
    return _page(request, model, preview={"token": token, "count": len(records),
                 "header": header, "rows": rows, "filename": upload.filename})  # fmt: skip


def stored_upload(request: Request, who: Viewer, name: str, token: str) -> Upload:
    with request.app.state.db() as s:
        found = s.get(Upload, token)
    if found is None or found.account_id != who.caller.id or found.model != name:
        raise HTTPException(404, "no such upload")
    return found


@router.post("/batch/{token}/run")
async def run_batch(name: str, token: str, request: Request, who: SignedIn):
    model = model_or_404(request, who, name)
    await checked_form(request)
    upload = stored_upload(request, who, name, token)
    if upload.row_count > request.app.state.settings.interactive_rows:
        raise HTTPException(413, "rows: above the interactive limit; run it as an async job")
    records = json.loads(upload.records)
    answer = await _gateway(request, who, name, "predict/batch", records)
    if answer["status"] != 200:
        return _page(request, model, answer["status"], batch_result=answer)
    answers = answer["json"].get("predictions", [])
    with request.app.state.db.begin() as s:
        s.get(Upload, token).answers = json.dumps(answers)
    header, rows = results.table(records, answers)
    too_big = answer["size"] > request.app.state.settings.answer_max_bytes
    return _page(request, model, batch_result=answer, token=token, too_big=too_big,
                 header=header, rows=rows[:SHOWN_ROWS], row_count=len(rows),
                 charts=results.charts(header, rows))  # fmt: skip


@router.get("/batch/{token}.{suffix}")
def download(name: str, token: str, suffix: str, request: Request, who: SignedIn):
    """The scored records as CSV (inputs and outputs) or the answers as JSON."""
    model_or_404(request, who, name)
    upload = stored_upload(request, who, name, token)
    if upload.answers is None or suffix not in ("csv", "json"):
        raise HTTPException(404, "no such download")
    if suffix == "json":
        body, media_type = upload.answers, "application/json"
    else:
        header, rows = results.table(json.loads(upload.records), json.loads(upload.answers))
        body, media_type = results.to_csv(header, rows), "text/csv"
    filename = f"{name}-predictions.{suffix}"
    disposition = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return Response(body, media_type=media_type, headers=disposition)
