"""Who may see and do what: roles, the signed-in principal, passwords and number masking.

Roles:
- BRANCH: its own branch's requests and campaigns only; submits requests.
- STAFF: center staff; every campaign; launches, pauses, resumes, cancels and approves.
- MANAGER: reads everything; acts on nothing.
- ADMIN: everything, users included.

Full phone numbers are shown only to a principal with the PII permission; everyone else
sees them masked (138****8000).

Passwords are stored as scrypt hashes (Python's hashlib, on OpenSSL) with a random salt
per user, in a self-describing string, so the cost can be raised later without breaking
stored hashes.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from campaigns.errors import ValidationError
from campaigns.phone import mask, mask_numbers


class Role(enum.StrEnum):
    """What a user is, for the dashboard and the audit trail."""

    BRANCH = "BRANCH"
    STAFF = "STAFF"
    MANAGER = "MANAGER"
    ADMIN = "ADMIN"


@dataclass(frozen=True)
class Principal:
    """A signed-in user."""

    username: str
    role: Role
    branch_code: str | None = None
    pii: bool = False
    #: The name to greet the user by (张伟); the user name when there is none.
    display_name: str | None = None

    def sees_branch(self, branch_code: str) -> bool:
        """Whether this user may see a branch's requests and campaigns."""
        return self.role is not Role.BRANCH or branch_code == self.branch_code

    @property
    def branch_scope(self) -> str | None:
        """The only branch this user sees, or None for every branch."""
        return self.branch_code if self.role is Role.BRANCH else None

    @property
    def can_operate(self) -> bool:
        """Launch, pause, resume, cancel and decide trials: center staff and admins."""
        return self.role in (Role.STAFF, Role.ADMIN)

    @property
    def can_approve(self) -> bool:
        """Approve or reject requests."""
        return self.role in (Role.STAFF, Role.ADMIN)

    def can_submit(self, branch_code: str) -> bool:
        """Submit a request for a branch: its own branch's users, staff and admins."""
        if self.role is Role.BRANCH:
            return branch_code == self.branch_code
        return self.role in (Role.STAFF, Role.ADMIN)


USERNAME = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")
MIN_PASSWORD = 8
# scrypt cost: 2**14 x 8 x 1 takes ~20-50 ms here, and 16 MB of memory per check.
_N, _R, _P = 2**14, 8, 1


def check_new_user(username: str, password: str, role: Role, branch_code: str | None) -> None:
    """Raise ValidationError, saying what to change, for a user that cannot be created."""
    if not USERNAME.match(username):
        raise ValidationError(
            f"user name {username!r}: use 2-64 letters, digits, '.', '_', '@' or '-'"
        )
    if len(password) < MIN_PASSWORD:
        raise ValidationError(f"the password must have at least {MIN_PASSWORD} characters")
    if role is Role.BRANCH and not branch_code:
        raise ValidationError("a branch user needs its branch: add --branch CODE")
    if role is not Role.BRANCH and branch_code:
        raise ValidationError(f"only branch users belong to a branch; {role.value} sees all")


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A salted scrypt hash of `password`, as 'scrypt$N$r$p$salt$hash'."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a `hash_password` string (constant time)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def mask_number(number: str | None, principal: Principal | None = None) -> str:
    """The number as this principal may see it: whole with the PII permission, else masked."""
    if not number:
        return ""
    return number if principal is not None and principal.pii else mask(number)


def mask_text(text: str | None, principal: Principal | None = None) -> str:
    """Free text (an agent's note) as this principal may see it: numbers in it masked
    unless the principal has the PII permission."""
    if not text:
        return ""
    return text if principal is not None and principal.pii else mask_numbers(text)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()
