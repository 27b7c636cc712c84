"""Who is asking, and what they may do.

The admin key may do everything. A workspace key sees only its workspace
(anything else is 404, as if it did not exist) and its role decides the rest:

    owner      everything in the workspace, including its keys and settings
    admin      manage webhooks, see secrets, resend, recover, test, send events
    member     read webhooks (without secrets or custom header values), events and logs
    publisher  send events
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from hookline.domain.models import Role
from hookline.errors import Forbidden, NotFound


class Action(Enum):
    READ = "read"
    PUBLISH = "publish"
    MANAGE = "manage"
    OWN = "own"


_ALLOWED: dict[Role, frozenset[Action]] = {
    Role.OWNER: frozenset(Action),
    Role.ADMIN: frozenset({Action.READ, Action.PUBLISH, Action.MANAGE}),
    Role.MEMBER: frozenset({Action.READ}),
    Role.PUBLISHER: frozenset({Action.PUBLISH}),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Principal:
    key_id: str
    workspace_id: str | None = None
    role: Role | None = None
    portal: bool = False  # signed in by a portal link: bound by the deployment's portal offer

    @property
    def is_admin(self) -> bool:
        return self.workspace_id is None

    def sees(self, workspace_id: str) -> bool:
        return self.is_admin or self.workspace_id == workspace_id

    def check(self, workspace_id: str, action: Action, what: str = "resource") -> None:
        """404 for a foreign workspace, 403 when the role does not allow ``action``."""
        if not self.sees(workspace_id):
            raise NotFound(f"No such {what}.")
        self.require(action, f"this {what}")

    def require(self, action: Action, what: str) -> None:
        """403 when the role does not allow ``action`` (on a deployment-wide ``what``)."""
        if self.role is not None and action not in _ALLOWED[self.role]:
            raise Forbidden(f"A {self.role.value} key cannot {action.value} {what}.")

    def require_admin(self, what: str) -> None:
        if not self.is_admin:
            raise Forbidden(f"Only the admin key can {what}.")

    @property
    def sees_secrets(self) -> bool:
        """Whether custom header values are shown: to those who may manage webhooks."""
        return self.role is None or Action.MANAGE in _ALLOWED[self.role]


ADMIN = Principal(key_id="admin")
