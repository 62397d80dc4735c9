"""The catalog's calls to billing: every model call and every account change go through its
API, with the signed-in user's short-lived key (or the platform admin key to issue that key)."""

from __future__ import annotations

import httpx
from fastapi import HTTPException


class Billing:
    """Billing's API (or, with ``name="scheduler"``, the scheduler's: the same calls with the
    viewer's key)."""

    def __init__(
        self, url: str, admin_key: str | None, timeout_s: float, name: str = "billing"
    ) -> None:
        self._admin_key = admin_key
        self.name = name
        self.http = httpx.AsyncClient(base_url=url, timeout=timeout_s)

    async def close(self) -> None:
        await self.http.aclose()

    async def call(self, method: str, path: str, key: str, **kwargs) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}", **kwargs.pop("headers", {})}
        try:
            return await self.http.request(method, path, headers=headers, **kwargs)
        except httpx.TimeoutException:
            raise HTTPException(504, f"{self.name} did not answer in time") from None
        except httpx.HTTPError as exc:
            raise HTTPException(502, f"{self.name} unreachable: {type(exc).__name__}") from None

    async def json(self, method: str, path: str, key: str, **kwargs):
        """The JSON of a 2xx answer; billing's own refusal (its ``detail``) otherwise."""
        answer = await self.call(method, path, key, **kwargs)
        if answer.status_code >= 400:
            raise HTTPException(answer.status_code, detail_of(answer))
        return answer.json() if answer.content else None

    async def session_key(self, account: str, ttl_s: int) -> dict:
        """A short-lived key of ``account`` (issued with the platform admin key)."""
        if not self._admin_key:
            raise HTTPException(503, "sign-in needs MODELSHIP_ADMIN_KEY (to ask billing a key)")
        return await self.json(
            "POST", f"/v1/accounts/{account}/keys", self._admin_key, json={"ttl_s": ttl_s}
        )


def detail_of(answer: httpx.Response) -> str:
    try:
        detail = answer.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    if isinstance(detail, list):  # a 422 of FastAPI: the field and the problem
        return "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', [])[1:])}: {d.get('msg')}" for d in detail
        )
    return str(detail or answer.text[:200] or answer.reason_phrase)
