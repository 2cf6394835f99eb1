"""Roles, passwords and masking (campaigns.access)."""

from __future__ import annotations

import pytest

from campaigns.access import (
    Principal,
    Role,
    check_new_user,
    hash_password,
    mask_number,
    mask_text,
    verify_password,
)
from campaigns.errors import ValidationError


def test_a_password_verifies_and_nothing_else_does() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("scrypt$") and "correct horse" not in stored
    assert verify_password("correct horse", stored)
    assert not verify_password("correct hors", stored)
    assert not verify_password("correct horse", stored.replace("scrypt", "md5", 1))
    assert not verify_password("correct horse", "garbage")
    # A fresh salt each time: the same password never gives the same string.
    assert hash_password("correct horse") != stored


@pytest.mark.parametrize(
    ("username", "password", "role", "branch", "message"),
    [
        ("a", "long enough", Role.STAFF, None, "2-64 letters"),
        ("li wei", "long enough", Role.STAFF, None, "2-64 letters"),
        ("li", "short", Role.STAFF, None, "at least 8"),
        ("gz", "long enough", Role.BRANCH, None, "needs its branch"),
        ("li", "long enough", Role.MANAGER, "GZ", "only branch users"),
    ],
)
def test_a_user_that_cannot_be_created_says_why(
    username: str, password: str, role: Role, branch: str | None, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        check_new_user(username, password, role, branch)


def test_roles_grant_what_the_issue_lists() -> None:
    gz = Principal("gz", Role.BRANCH, "GZ")
    staff, manager, admin = (Principal(r.value, r) for r in (Role.STAFF, Role.MANAGER, Role.ADMIN))
    assert gz.sees_branch("GZ") and not gz.sees_branch("SZ") and gz.branch_scope == "GZ"
    assert all(p.sees_branch("SZ") and p.branch_scope is None for p in (staff, manager, admin))
    assert [p.can_operate for p in (gz, staff, manager, admin)] == [False, True, False, True]
    assert [p.can_approve for p in (gz, staff, manager, admin)] == [False, True, False, True]
    assert gz.can_submit("GZ") and not gz.can_submit("SZ")
    assert staff.can_submit("SZ") and not manager.can_submit("GZ")


def test_numbers_are_masked_unless_the_user_may_see_them() -> None:
    number = "+8613800138000"
    assert mask_number(number) == "138****8000"
    assert mask_number(number, Principal("m", Role.MANAGER)) == "138****8000"
    assert mask_number(number, Principal("a", Role.ADMIN, pii=True)) == number
    assert mask_number(None) == ""
    note = "客户要求改约，回拨 +8613800138000 或 13900139000"
    assert mask_text(note) == "客户要求改约，回拨 138****8000 或 139****9000"
    assert mask_text(note, Principal("a", Role.ADMIN, pii=True)) == note
    assert mask_text(None) == ""
