"""Page routes: sign-in, the board list and one board, each under a strict CSP.

Pages are HTML shells; the modules under static/ fetch and render everything. The shell of
a signed-in page carries the session's CSRF token in a meta tag, so every tab (not only
the one that signed in) can write.
"""

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from server.api.access import Principal, identify, role_on
from server.api.errors import ApiError
from server.api.services import find_board

STATIC = Path(__file__).parent / "static"
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
SHELL = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Journeyboard</title>
<meta name="csrf-token" content="{csrf}"><meta name="user" content="{user}">
<meta name="admin" content="{admin}"><meta name="board-id" content="{board_id}">
<link rel="stylesheet" href="/static/app.css">
<script type="module" src="/static/{module}.js"></script>
</head><body class="page-{module}">{body}</body></html>
"""
NOT_FOUND_BODY = (
    '<main class="narrow"><h1>Not found</h1><p>There is no such board, or you are not a '
    'member of it.</p><p><a href="/">Your boards</a></p></main>'
)


def page(module: str, title: str, who: Principal | None = None, **extra: str) -> str:
    """The HTML shell that loads `static/{module}.js`; every value is escaped."""
    values = {
        "title": title,
        "csrf": (who.csrf or "") if who else "",
        "user": who.name if who else "",
        "admin": "true" if who and who.admin else "false",
        "board_id": "",
        "body": "",
    } | extra
    escaped = {k: v if k == "body" else html.escape(v) for k, v in values.items()}
    return SHELL.format(module=module, **escaped)


def respond(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status, headers=SECURITY_HEADERS)


async def signed_in(request: Request) -> Principal | None:
    """The cookie's user, or None when the browser is not signed in."""
    if "jb_session" not in request.cookies:
        return None
    try:
        return await identify(request)
    except ApiError:
        return None


async def login_page(request: Request) -> Response:
    return respond(page("login", "Sign in"))


async def boards_page(request: Request) -> Response:
    who = await signed_in(request)
    if who is None:
        return RedirectResponse("/login", 303)
    return respond(page("home", "Boards", who))


async def board_page(request: Request) -> Response:
    who = await signed_in(request)
    if who is None:
        return RedirectResponse("/login", 303)
    record = await find_board(request)
    if record is None or await role_on(request, who, record.id) is None:
        return not_found_page()
    return respond(page("board", record.title, who, board_id=record.id))


def not_found_page() -> Response:
    return respond(page("notfound", "Not found", body=NOT_FOUND_BODY), 404)


PAGE_PATHS = ("/", "/login", "/boards/{board_id}")
ROUTES: list[BaseRoute] = [
    Route("/", boards_page, methods=["GET"]),
    Route("/login", login_page, methods=["GET"]),
    Route("/boards/{board_id}", board_page, methods=["GET"]),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]
