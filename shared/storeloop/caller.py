"""Who is calling: the member id, roles and store ids the authorizer vouched for."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Caller:
    member_id: str
    roles: tuple[str, ...] = ("member",)
    store_ids: tuple[str, ...] = field(default_factory=tuple)
    staff_role: str | None = None  # "clerk" | "manager" for staff

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def is_staff_of(self, store_id: str) -> bool:
        return "staff" in self.roles and store_id in self.store_ids

    def is_manager_of(self, store_id: str) -> bool:
        return self.is_staff_of(store_id) and self.staff_role == "manager"
