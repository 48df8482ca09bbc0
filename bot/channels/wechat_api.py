"""A small client for the WeChat Official Account API: access token, sends, custom menu.

The access token is cached in SQLite with its expiry so every worker shares one; when it has
to be refreshed, one worker takes a lease row and fetches it while the others wait, because
each fetch invalidates the previous token (WeChat allows 2000 fetches a day).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Any, cast

import httpx

from bot.storage.channels import ChannelStore

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.weixin.qq.com"
# Refresh this long before WeChat's stated expiry, so a token is never used at its edge.
EXPIRY_MARGIN = 300
LEASE_SECONDS = 15
# Codes meaning "this access token is no longer good": refresh once and try again.
TOKEN_ERRORS = frozenset({40001, 40014, 42001})


class WeChatError(Exception):
    """WeChat answered with a non-zero errcode."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"wechat error {code}: {message}")
        self.code = code
        self.message = message


class WeChatUnavailable(Exception):
    """The API could not be reached, or answered with an HTTP error."""


class WeChatAPI:
    def __init__(
        self,
        store: ChannelStore,
        app_id: str,
        app_secret: str,
        base_url: str = DEFAULT_API_URL,
        *,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
    ) -> None:
        self.store = store
        self.app_id = app_id
        self._secret = app_secret
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._owns_client = client is None
        self._clock = clock
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # -- access token ---------------------------------------------------------------------------
    async def token(self) -> str:
        """A valid access token: the shared cached one, or a freshly fetched one."""
        async with self._lock:
            while True:
                now = int(self._clock())
                cached = await self.store.cached_token(self.app_id)
                if cached.token and cached.expires_at > now:
                    return cached.token
                if await self.store.lease_refresh(self.app_id, now, now + LEASE_SECONDS):
                    return await self._fetch_token(now)
                # Another worker is refreshing: wait for its token instead of fetching a second
                # one, which would invalidate the first.
                await asyncio.sleep(0.2)

    async def _fetch_token(self, now: int) -> str:
        try:
            body = await self._request(
                "GET",
                "/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": self.app_id,
                    "secret": self._secret,
                },
            )
        except BaseException:
            await self.store.release_lease(self.app_id)
            raise
        token = str(body["access_token"])
        expires_at = now + int(body.get("expires_in", 7200)) - EXPIRY_MARGIN
        await self.store.store_token(self.app_id, token, expires_at)
        log.info("fetched a new WeChat access token")
        return token

    # -- calls ------------------------------------------------------------------------------------
    async def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a JSON API call with the access token; on an expired token refresh it once."""
        token = await self.token()
        try:
            return await self._post(path, token, payload)
        except WeChatError as exc:
            if exc.code not in TOKEN_ERRORS:
                raise
            log.info("WeChat access token rejected (%s): refreshing", exc.code)
            await self.store.invalidate_token(self.app_id, token)
            return await self._post(path, await self.token(), payload)

    async def send_custom(self, openid: str, message: dict[str, Any]) -> None:
        """A customer-service message: `message` is e.g. {"msgtype": "text", "text": {...}}."""
        await self.call("/cgi-bin/message/custom/send", {"touser": openid, **message})

    async def send_subscribe(
        self, openid: str, template_id: str, data: dict[str, str], page: str | None = None
    ) -> None:
        """A subscription message (works outside the 48-hour window, with the user's consent)."""
        payload: dict[str, Any] = {
            "touser": openid,
            "template_id": template_id,
            "data": {k: {"value": v} for k, v in data.items()},
        }
        if page:
            payload["page"] = page
        await self.call("/cgi-bin/message/subscribe/bizsend", payload)

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self.call("/cgi-bin/menu/create", menu)

    async def _post(self, path: str, token: str, payload: dict[str, Any]) -> dict[str, Any]:
        # ensure_ascii=False: some WeChat endpoints show \\u escapes to the user literally.
        return await self._request(
            "POST",
            path,
            params={"access_token": token},
            content=json.dumps(payload, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json; charset=utf-8"},
        )

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = await self._client.request(method, self.base_url + path, **kwargs)
        except httpx.HTTPError as exc:
            raise WeChatUnavailable(type(exc).__name__) from exc
        if response.status_code >= 400:
            raise WeChatUnavailable(f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise WeChatUnavailable("not JSON") from exc
        code = int(body.get("errcode", 0) or 0)
        if code != 0:
            raise WeChatError(code, str(body.get("errmsg", "")))
        return cast("dict[str, Any]", body)
