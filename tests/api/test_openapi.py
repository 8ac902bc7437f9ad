"""/openapi.json stays true: every route the app serves is in it, with its methods."""

import httpx
from starlette.routing import Route

from server.web.pages import PAGE_PATHS
from tests.harness import RunningServer


async def test_every_route_is_documented(http: httpx.AsyncClient, server: RunningServer) -> None:
    spec = (await http.get("/openapi.json")).json()
    served = {
        (route.path, method.lower())
        for route in server.app.routes
        if isinstance(route, Route)
        and route.path not in ("/openapi.json", "/asyncapi.json", "/metrics", *PAGE_PATHS)
        for method in (route.methods or ()) - {"HEAD"}
    }
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert served == documented


async def test_every_schema_reference_resolves(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    text = str(spec)
    for name in spec["components"]["schemas"]:
        assert f"#/components/schemas/{name}" in text
    refs = {part.split("'")[0] for part in text.split("#/components/schemas/")[1:]}
    assert refs <= set(spec["components"]["schemas"])
