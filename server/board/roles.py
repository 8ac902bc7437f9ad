"""Which role each op needs: viewers read, commenters comment, editors edit, owners manage."""

from collections.abc import Mapping

from schemas.auth import ROLES, Role
from schemas.board import AnyElement, Comment
from schemas.ops import BoardOp, Create, Delete, Update


def at_least(role: Role | None, required: Role) -> bool:
    return role is not None and ROLES.index(role) >= ROLES.index(required)


def required_role(op: BoardOp, elements: Mapping[str, AnyElement], user: str) -> Role:
    """Commenters may add comments and change or delete their own; anything else is editing."""
    match op:
        case Create(element=Comment()):
            return "commenter"
        case Update(id=element_id) | Delete(id=element_id):
            target = elements.get(element_id)
            if isinstance(target, Comment) and target.author == user:
                return "commenter"
    return "editor"
