"""The browser sign-in page: a form that posts to /api/login and keeps the CSRF token."""

from starlette.requests import Request
from starlette.responses import HTMLResponse

LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · Journeyboard</title>
<style>body{font:16px system-ui;max-width:22rem;margin:4rem auto}input,button{display:block;
width:100%;margin:.4rem 0;padding:.5rem}#out{margin-top:1rem}</style></head>
<body><h1>Journeyboard</h1>
<form id="f"><input name="name" placeholder="user name" autocomplete="username" required>
<input name="password" type="password" placeholder="password" autocomplete="current-password"
required><button>Sign in</button></form><p id="out" role="status"></p>
<script>
document.getElementById("f").onsubmit = async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const r = await fetch("/api/login", {method: "POST",
    headers: {"content-type": "application/json"},
    body: JSON.stringify({name: form.get("name"), password: form.get("password")})});
  const body = await r.json();
  const out = document.getElementById("out");
  if (r.ok) { sessionStorage.setItem("csrf", body.csrf_token);
    out.textContent = "Signed in as " + body.user.name + "."; }
  else { out.textContent = body.error.message; }
};
</script></body></html>
"""


async def login_page(request: Request) -> HTMLResponse:
    return HTMLResponse(LOGIN_PAGE, headers={"Content-Security-Policy": "frame-ancestors 'none'"})
