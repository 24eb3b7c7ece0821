"""JSON shapes for people, groups and tokens, plus the small types every API module shares
(bounded ids, safe strings, limit/offset pages)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from pydantic import AfterValidator, field_validator

from verity.accounts.models import JobFunction, SiteRole, User

# ---------------------------------------------------------------- shared types


class AuthedRequest(HttpRequest):
    """What every API view receives: `auth` is the person the token or session belongs to."""

    auth: User


# Database integers are signed 64-bit: a bigger id can only be "not found", and checking it
# here keeps an overflowing number from ever reaching the database driver.
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _text(value: str) -> str:
    # PostgreSQL refuses NUL characters and no database can store a lone surrogate:
    # say so as a validation error instead of failing at the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Text = Annotated[str, AfterValidator(_text)]


def _not_null(value: Any) -> Any:
    if value is None:
        raise ValueError("may be left out but not set to null")
    return value


def not_null(*fields: str) -> Any:
    """For PATCH bodies: a field may be absent (unchanged) but not null."""
    return field_validator(*fields, mode="before")(_not_null)


DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_OFFSET = 1_000_000


class PageParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip")


def paginate(items: QuerySet[Any] | list[Any], params: PageParams) -> dict[str, Any]:
    """`{"items": [...], "count": N}` for one limit/offset window of `items`."""
    count = items.count() if isinstance(items, QuerySet) else len(items)
    window = list(items[params.offset : params.offset + params.limit])
    return {"items": window, "count": count}


class ErrorItem(Schema):
    field: str | None
    message: str


class Error(Schema):
    detail: str
    errors: list[ErrorItem] | None = None


class Ok(Schema):
    ok: bool = True


# ---------------------------------------------------------------- people

JobFunctionName = Literal["sales", "success", "support", "leadership", "enablement", "other"]
SiteRoleName = Literal["admin", "member"]
assert set(JobFunction.values) == set(JobFunctionName.__args__)  # type: ignore[attr-defined]
assert set(SiteRole.values) == set(SiteRoleName.__args__)  # type: ignore[attr-defined]


class UserOut(Schema):
    id: int
    email: str
    name: str
    job_function: str
    manager: int | None = Field(None, alias="manager_id")
    hire_date: date | None
    site_role: str
    is_active: bool


class MeOut(UserOut):
    language: str
    groups: list[int]

    @staticmethod
    def resolve_groups(obj: Any) -> list[int]:
        return sorted(g.pk for g in obj.member_groups.all())


class UserPage(Schema):
    items: list[UserOut]
    count: int


class UserCreate(Schema):
    email: Text = Field(..., max_length=254)
    name: Text = Field("", max_length=150)
    password: Text | None = Field(
        None, max_length=128, description="Optional; without one the person cannot sign in yet"
    )
    job_function: JobFunctionName = "other"
    site_role: SiteRoleName = "member"
    manager: Id | None = None
    hire_date: date | None = None
    groups: list[Id] = Field(default_factory=list, max_length=200)


class UserPatch(Schema):
    """Only the fields sent are changed."""

    email: Text | None = Field(None, max_length=254)
    name: Text | None = Field(None, max_length=150)
    job_function: JobFunctionName | None = None
    site_role: SiteRoleName | None = None
    manager: Id | None = None
    hire_date: date | None = None
    language: Literal["", "en", "ru"] | None = None
    is_active: bool | None = None

    _present = not_null("email", "name", "job_function", "site_role", "language", "is_active")


# ---------------------------------------------------------------- groups


class GroupOut(Schema):
    id: int
    name: str
    description: str
    member_count: int
    created_at: datetime


class GroupPage(Schema):
    items: list[GroupOut]
    count: int


class GroupCreate(Schema):
    name: Text = Field(..., max_length=100)
    description: Text = Field("", max_length=300)


class GroupPatch(Schema):
    name: Text | None = Field(None, max_length=100)
    description: Text | None = Field(None, max_length=300)

    _present = not_null("name", "description")


# ---------------------------------------------------------------- tokens


class TokenOut(Schema):
    id: int
    name: str
    hint: str = Field(..., description="The token's first characters, to recognise it")
    created_at: datetime
    last_used_at: datetime | None


class TokenPage(Schema):
    items: list[TokenOut]
    count: int


class TokenCreate(Schema):
    name: Text = Field(..., min_length=1, max_length=100, description="What the token is for")


class TokenCreated(TokenOut):
    token: str = Field(..., description="The token itself: shown this once, never again")
