"""OAuth 2.0 client credentials (RFC 6749 section 4.4) as an httpx auth: the token is fetched
when first needed, kept until shortly before it expires, and fetched anew once when the agency
answers 401 (it was revoked or the agency restarted)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Generator

import httpx

from connectors.rest.client import AgencySchemas, judge


class ClientCredentials(httpx.Auth):
    """Bearer tokens from `token_url`; one fetch at a time however many calls wait for it."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        schemas: AgencySchemas,
        *,
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._schemas = schemas
        self._clock = clock
        self._http = httpx.AsyncClient(timeout=timeout_s)
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.fetches = 0  # how many tokens were fetched (operators and tests read it)

    async def token(self) -> str:
        """A token that is not near its expiry, fetched now if the cached one is."""
        async with self._lock:
            if self._token is None or self._clock() >= self._renew_at:
                await self._fetch()
            assert self._token is not None
            return self._token

    def forget(self, token: str) -> None:
        """Drop `token` (the agency refused it) unless another call already replaced it."""
        if self._token == token:
            self._token = None

    async def _fetch(self) -> None:
        response = await self._http.post(self.token_url, data=self._form)
        body = judge(response, self._schemas, "token")
        lifetime = float(body["expires_in"])
        self.fetches += 1
        self._token = str(body["access_token"])
        # Renew a little early: a token must not expire between the check and its use.
        self._renew_at = self._clock() + lifetime - min(30.0, lifetime / 10)

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            self.forget(token)
            request.headers["Authorization"] = f"Bearer {await self.token()}"
            yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("ClientCredentials works with httpx.AsyncClient only")

    async def aclose(self) -> None:
        await self._http.aclose()
