"""`verity token create EMAIL [--name N]` prints a new personal API token once (only its hash
is stored); `verity token list EMAIL` shows a person's tokens; `verity token revoke ID`."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from verity.accounts import services
from verity.accounts.models import ApiToken, User


class Command(BaseCommand):
    help = "Create, list and revoke personal API tokens."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = actions.add_parser("create", help="Create a token and print it once")
        create.add_argument("email")
        create.add_argument("--name", default="Command line", help="What the token is for")
        listing = actions.add_parser("list", help="List a person's tokens (never the tokens)")
        listing.add_argument("email")
        revoke = actions.add_parser("revoke", help="Revoke a token by its id (see `list`)")
        revoke.add_argument("id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "create":
            user = self._user(options["email"])
            token, raw = services.token_create(user=user, name=options["name"])
            # The raw token alone on stdout, so scripts can capture it; advice on stderr.
            self.stdout.write(raw)
            self.stderr.write(
                _("Token %(id)s “%(name)s” for %(email)s. Store it now: it cannot be shown again.")
                % {"id": token.pk, "name": token.name, "email": user.email}
            )
        elif action == "list":
            user = self._user(options["email"])
            tokens = ApiToken.objects.filter(user=user).order_by("-created_at")
            if not tokens:
                self.stderr.write(_("%(email)s has no API tokens.") % {"email": user.email})
            for token in tokens:
                used = (
                    token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else "-"
                )
                self.stdout.write(
                    f"{token.pk}\t{token.hint}…\t{token.name}\t"
                    f"{token.created_at.isoformat(timespec='seconds')}\t{used}"
                )
        else:
            found = ApiToken.objects.select_related("user").filter(pk=options["id"]).first()
            if found is None:
                raise CommandError(_("No token with id %(id)s.") % {"id": options["id"]})
            services.token_revoke(user=found.user, token_id=found.pk)
            self.stdout.write(
                _("Revoked token %(id)s of %(email)s.")
                % {"id": found.pk, "email": found.user.email}
            )

    def _user(self, email: str) -> User:
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(_("No person with email %(email)s.") % {"email": email})
        return user
