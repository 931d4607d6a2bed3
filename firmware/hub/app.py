"""The hub's web side: the live dashboard, the history pages, the JSON API and the export.

Starlette (on uvicorn): a small, typed, well-kept ASGI toolkit with routing, streaming
responses and a test client, and nothing else to carry (no ORM, no templates, no
validation layer the few query parameters do not need). Endpoints are plain functions:
Starlette runs them in its thread pool, so the blocking database calls never stall the loop.
API version 1 is documented in docs/hub.md.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from firmware.hub import export
from firmware.hub.profiles import ProfileQuery, current_profile, trend
from firmware.hub.store import Filters, Store, as_json_array, make_filters
from firmware.vbt.profile import DEFAULT_MVT_M_S, DEFAULT_WINDOW_DAYS
from firmware.web.server import CONTENT_TYPES, CSP, config_json, static_files

API_VERSION = 1
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_PROFILE_WEEKS = 52  # as `repsled history profile --weeks`
SECURITY_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def hub_static_files() -> dict[str, bytes]:
    """The live page's files plus the history pages' (static/ of this package)."""
    files = static_files()
    for child in (resources.files("firmware.hub") / "static").iterdir():
        if child.is_file() and not child.name.startswith("."):
            files[f"/{child.name}"] = child.read_bytes()
    return files


def _json(body: str | dict[str, Any], status: int = 200) -> Response:
    text = body if isinstance(body, str) else json.dumps(body, separators=(",", ":"))
    return Response(text, status, media_type="application/json", headers=SECURITY_HEADERS)


def _error(message: str, status: int = 400) -> Response:
    return _json({"schema": API_VERSION, "error": message}, status)


def _filters(request: Request) -> Filters:
    q = request.query_params
    return make_filters(q.get("station"), q.get("since"), q.get("until"), q.get("session"))


def _limit(request: Request) -> int:
    text = request.query_params.get("limit", str(DEFAULT_LIMIT))
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise ValueError(f"limit {text!r}: expected 1..{MAX_LIMIT}")
    return int(text)


def _session_document(station: str, session: str, sets: list[str], reps: list[str]) -> str:
    """The contract's session document, built from the stored payload texts as published."""
    head = json.dumps(
        {"type": "session", "schema": 1, "station": station, "session": session},
        separators=(",", ":"),
    )
    return f'{head[:-1]},"sets":{as_json_array(sets)},"reps":{as_json_array(reps)}}}'


def create_app(
    store: Store,
    *,
    broker_ws_url: str | None = None,
    prefix: str = "repsled",
    target_eccentric_s: float = 3.0,
    page_login: tuple[str, str] | None = None,
    mvt_m_s: float = DEFAULT_MVT_M_S,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    files = hub_static_files()
    config_body = config_json(broker_ws_url, prefix, page_login, hub=True).decode("utf-8")

    def static(request: Request) -> Response:
        path = request.url.path
        if path == "/":
            path = "/index.html"
        body = files.get(path)
        if body is None:
            return Response("not found", 404, media_type="text/plain", headers=SECURITY_HEADERS)
        suffix = path[path.rfind(".") :] if "." in path else ""
        ctype = CONTENT_TYPES.get(suffix, "application/octet-stream")
        headers = dict(SECURITY_HEADERS)
        if ctype.startswith("text/html"):
            headers["Content-Security-Policy"] = CSP
        return Response(body, media_type=ctype, headers=headers)

    def config(_request: Request) -> Response:
        return _json(config_body)

    def live(_request: Request) -> Response:
        documents = []
        for sets, reps in store.live():
            first = json.loads(reps[0] if reps else sets[0])
            documents.append(_session_document(first["station"], first["session"], sets, reps))
        return _json(f'{{"schema":{API_VERSION},"sessions":{as_json_array(documents)}}}')

    def stations(_request: Request) -> Response:
        return _json({"schema": API_VERSION, "stations": store.stations()})

    def sessions(request: Request) -> Response:
        rows = store.sessions(_filters(request), _limit(request))
        return _json({"schema": API_VERSION, "sessions": rows})

    def session(request: Request) -> Response:
        station = request.path_params["station"]
        name = request.path_params["session"]
        started, sets, reps = store.session_payloads(station, name)
        if started is None:
            return _error(f"no session {name!r} at station {station!r}", 404)
        head = json.dumps(
            {
                "schema": API_VERSION,
                "station": station,
                "session": name,
                "started_at": started,
                "target_eccentric_s": target_eccentric_s,
            },
            separators=(",", ":"),
        )
        return _json(f'{head[:-1]},"sets":{as_json_array(sets)},"reps":{as_json_array(reps)}}}')

    def trends(request: Request) -> Response:
        rows = store.trends(_filters(request), _limit(request))
        return _json(
            {"schema": API_VERSION, "target_eccentric_s": target_eccentric_s, "sessions": rows}
        )

    def athletes(_request: Request) -> Response:
        return _json({"schema": API_VERSION, "athletes": store.athletes()})

    def athlete_profile(request: Request) -> Response:
        name = request.path_params["name"]
        station = request.query_params.get("station") or None
        weeks_text = request.query_params.get("weeks", str(DEFAULT_WINDOW_DAYS / 7))
        try:
            weeks = float(weeks_text)
        except ValueError:
            weeks = math.nan
        if not (math.isfinite(weeks) and 0 < weeks <= MAX_PROFILE_WEEKS):
            raise ValueError(f"weeks {weeks_text!r}: expected more than 0, at most 52")
        if not store.profile_sets(name, station):
            where = f" at station {station!r}" if station else ""
            return _error(f"no sets of athlete {name!r}{where}", 404)
        query = ProfileQuery(name, station, weeks * 7, mvt_m_s, clock())
        return _json(
            {
                "schema": API_VERSION,
                "athlete": name,
                "station": station,
                "window_days": query.window_days,
                "since": query.since().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "profile": current_profile(store, query).to_dict(),
                "trend": trend(store, query),
            }
        )

    def exporter(fmt: str) -> Callable[[Request], Response]:
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"

        def endpoint(request: Request) -> Response:
            filters = _filters(request)
            name = "-".join(["repsled", *(v for v in (filters.station, filters.session) if v)])
            headers = {
                **SECURITY_HEADERS,
                "Content-Disposition": f'attachment; filename="{_safe(name)}.{fmt}"',
            }
            return StreamingResponse(
                export.lines(store, filters, fmt), media_type=media, headers=headers
            )

        return endpoint

    def guarded(endpoint: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def run(request: Request) -> Response:
            try:
                return endpoint(request)
            except ValueError as exc:
                return _error(str(exc))

        return run

    routes = [
        Route("/config.json", config),
        Route("/api/v1/live", live),
        Route("/api/v1/stations", stations),
        Route("/api/v1/sessions", guarded(sessions)),
        Route("/api/v1/sessions/{station}/{session}", guarded(session)),
        Route("/api/v1/trends", guarded(trends)),
        Route("/api/v1/athletes", athletes),
        Route("/api/v1/athletes/{name}/profile", guarded(athlete_profile)),
        Route("/export.csv", guarded(exporter("csv"))),
        Route("/export.jsonl", guarded(exporter("jsonl"))),
        Route("/{path:path}", static, methods=["GET", "HEAD"]),
    ]
    return Starlette(routes=routes)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
