"""Board members: who may see and change a board, and in which role."""

from starlette.requests import Request
from starlette.responses import Response

from schemas.auth import Member, MemberList, SetRole
from server.api.access import board_access, principal
from server.api.errors import ApiError, decode
from server.api.routing import Endpoint, json_response
from server.api.services import body_of, services


async def list_members(request: Request) -> Response:
    _, record, _ = await board_access(request, "viewer")
    members = await services(request).accounts.members_of(record.id)
    return json_response(MemberList(items=[Member(user=u, role=r) for u, r in members]))


async def set_member(request: Request) -> Response:
    _, record, _ = await board_access(request, "owner")
    name = request.path_params["user"]
    body = decode(await body_of(request), SetRole)
    accounts = services(request).accounts
    if await accounts.get_user(name) is None:
        raise ApiError("not_found", f"no user {name!r}", user=name)
    if body.role != "owner":
        await _keep_an_owner(request, record.id, name)
    await accounts.set_role(record.id, name, body.role)
    services(request).signals.role_changed(record.id, name, body.role)
    return json_response(Member(user=name, role=body.role))


async def remove_member(request: Request) -> Response:
    """Owners remove anyone; any member may leave."""
    name = request.path_params["user"]
    leaving = (await principal(request)).name == name
    _, record, _ = await board_access(request, "viewer" if leaving else "owner")
    await _keep_an_owner(request, record.id, name)
    if not await services(request).accounts.remove_member(record.id, name):
        raise ApiError("not_found", f"{name!r} is not a member of this board", user=name)
    services(request).signals.role_changed(record.id, name, None)
    return Response(status_code=204)


async def _keep_an_owner(request: Request, board_id: str, name: str) -> None:
    accounts = services(request).accounts
    if await accounts.role(board_id, name) == "owner" and await accounts.owners(board_id) <= 1:
        raise ApiError(
            "conflict", "a board keeps at least one owner; make someone else owner first"
        )


MEMBERS = "/api/boards/{board_id}/members"
ENDPOINTS = [
    Endpoint("GET", MEMBERS, list_members, "List members and their roles", response=MemberList),
    Endpoint(
        "PUT",
        MEMBERS + "/{user}",
        set_member,
        "Invite a user or change their role (owner)",
        body=SetRole,
        response=Member,
    ),
    Endpoint("DELETE", MEMBERS + "/{user}", remove_member, "Remove a member (owner) or leave", 204),
]
