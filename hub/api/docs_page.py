"""`/docs` without a script from the internet (security review, item 8): FastAPI's Swagger UI
loads its JavaScript and CSS from a CDN, so a partner's browser would run code the hub does not
control. This page is plain HTML rendered from the OpenAPI document: each operation, what it
needs, and a link to /openapi.json for tools; no script at all, and a CSP that allows none."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
METHODS = ("get", "post", "put", "patch", "delete")


def _rows(schema: dict[str, Any]) -> list[str]:
    rows = []
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            statuses = ", ".join(sorted(str(s) for s in operation.get("responses", {})))
            rows.append(
                f"<tr><td><code>{method.upper()} {escape(path)}</code></td>"
                f"<td>{escape(operation.get('summary', ''))}</td>"
                f"<td>{escape(statuses)}</td></tr>"
            )
    return rows


def docs_endpoint(openapi: Callable[[], dict[str, Any]]) -> Callable[[Request], Any]:
    """The `/docs` handler over the app's OpenAPI document."""

    async def docs(request: Request) -> HTMLResponse:
        schema = openapi()
        title = escape(str(schema.get("info", {}).get("title", "API")))
        body = (
            f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font-family:sans-serif;margin:2em}td{padding:.3em 1em}</style></head>"
            f"<body><h1>{title}</h1><p>The machine-readable description: "
            "<a href='/openapi.json'>/openapi.json</a> (OpenAPI 3.1). SOAP services publish "
            "their WSDL at <code>/soap/&lt;Service&gt;?wsdl</code>.</p><table>"
            "<tr><th>operation</th><th>what</th><th>answers</th></tr>"
            + "".join(_rows(schema))
            + "</table></body></html>"
        )
        return HTMLResponse(body, headers={"Content-Security-Policy": CSP})

    return docs
