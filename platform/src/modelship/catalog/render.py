"""Jinja2 pages (autoescaped: every model text renders as text) with who is looking."""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.templating import Jinja2Templates

from modelship.catalog.session import viewer

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")


def render(request: Request, name: str, status_code: int = 200, **context):
    """A page, with who is looking and the CSRF token every form repeats."""
    if "viewer" not in context:
        context["viewer"] = viewer(request)
    context.update(csrf=request.state.csrf, settings=request.app.state.settings)
    return templates.TemplateResponse(request, name, context, status_code=status_code)
