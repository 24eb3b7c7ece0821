"""The JSON API at /api/v1: personal bearer tokens (or the browser session), OpenAPI docs at
/api/v1/docs, and errors as 4xx JSON naming the field and the problem."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from verity.accounts.services import token_authenticate
from verity.knowledge.services import StaleVersion


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The web UI's own session (with CSRF on unsafe methods), so htmx can use the API too."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a signed-in session there is nothing to forge: skip the CSRF check so that
        # a request with no (or a wrong) token is answered 401, not "CSRF check failed".
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None


api = NinjaAPI(
    title="Verity API",
    version="1",
    description="Verified knowledge, over HTTP. Authenticate with `Authorization: Bearer <token>`.",
    auth=[BearerToken(), SessionAuth()],
    urls_namespace="api",
)


def _error(
    request: HttpRequest, status: int, detail: str, errors: list[dict[str, Any]] | None = None
) -> HttpResponse:
    body: dict[str, Any] = {"detail": detail}
    if errors is not None:
        body["errors"] = errors
    return api.create_response(request, body, status=status)


def validation_errors(exc: ValidationError, default_field: str | None = None) -> list[dict]:
    """A Django ValidationError as the API's `errors` list: each message with its field."""
    if hasattr(exc, "error_dict"):
        return [
            {"field": field, "message": " ".join(str(m) for e in errs for m in e.messages)}
            for field, errs in exc.error_dict.items()
        ]
    return [{"field": default_field, "message": m} for m in exc.messages]


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = validation_errors(exc)
    return _error(request, 422, "; ".join(e["message"] for e in errors), errors)


@api.exception_handler(NinjaValidationError)
def on_schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for err in exc.errors:
        loc = [
            str(part)
            for part in err.get("loc", [])
            if part not in ("body", "payload", "query", "path")
        ]
        errors.append({"field": ".".join(loc) or None, "message": err.get("msg", "invalid")})
    return _error(request, 422, "; ".join(f"{e['field']}: {e['message']}" for e in errors), errors)


@api.exception_handler(StaleVersion)
def on_stale_version(request: HttpRequest, exc: StaleVersion) -> HttpResponse:
    """Optimistic concurrency: the edit was based on an old version and nothing was written."""
    body = {
        "detail": _(
            "The card has changed since you read it (now version %(version)s). "
            "Reload it, reapply your change and send the new version."
        )
        % {"version": exc.current},
        "current_version": exc.current,
    }
    return api.create_response(request, body, status=409)


@api.exception_handler(IntegrityError)
def on_conflict(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    # Two requests raced for the same unique value; the loser gets a conflict, not a 500.
    return _error(request, 409, _("This conflicts with data saved at the same moment; try again."))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, _("Not found."))


@api.exception_handler(PermissionDenied)
def on_forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, str(exc) or _("You do not have permission to do this."))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and str(exc.message).startswith("Cannot parse request body"):
        message = _("The request body is not valid JSON.")
        return _error(request, 400, message, [{"field": None, "message": message}])
    return _error(request, exc.status_code, str(exc.message))


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, _("Authentication required: send Authorization: Bearer <token>."))


def register_routers() -> None:
    from verity.accounts.api import router as accounts_router
    from verity.analytics.api import router as analytics_router
    from verity.knowledge.api import router as knowledge_router
    from verity.learning.api import router as learning_router
    from verity.search.api import router as search_router

    api.add_router("", accounts_router)
    api.add_router("", knowledge_router)
    api.add_router("", search_router)
    api.add_router("", learning_router)
    api.add_router("/analytics", analytics_router)


register_routers()
