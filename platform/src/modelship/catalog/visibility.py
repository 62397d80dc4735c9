"""Which models a viewer may see: public ones, and private ones they own or were granted.

The rule is billing's (:func:`modelship.billing.accounts_api.can_use`); a model someone may not
see is a 404, exactly like a model that does not exist.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from modelship.billing.accounts_api import can_use
from modelship.catalog.session import Viewer
from modelship.registry import Model


def visible(request: Request, who: Viewer | None, models: list[Model] | None = None):
    """The models of ``models`` (default: every served one) ``who`` may see."""
    if models is None:
        models = list(request.app.state.registry.models.values())
    if who is None:
        return [m for m in models if m.terms.visibility == "public"]
    with request.app.state.db() as s:
        return [m for m in models if can_use(s, who.caller, m)]


def model_or_404(request: Request, who: Viewer | None, name: str) -> Model:
    model = request.app.state.registry.get(name)
    if model is None or not visible(request, who, [model]):
        raise HTTPException(404, f"no model {name!r}")
    return model
