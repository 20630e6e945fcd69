from __future__ import annotations

import os

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError, connection, transaction

from ops.roles import create_app_role


class Command(BaseCommand):
    help = (
        "Create a login role that owns the app's tables and nothing more (no superuser, no "
        "CREATEDB, no CREATEROLE), for DATABASE_URL in production. Run as a superuser after "
        "the first migrate; run again after migrations that a superuser applied."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="the role's name, e.g. papersearch_app")
        parser.add_argument(
            "--password-env",
            metavar="VAR",
            help="read the role's password from this environment variable (not the command "
            "line, which other users can see)",
        )

    def handle(self, *args, role: str, password_env: str | None, **options):
        password = None
        if password_env:
            password = os.environ.get(password_env)
            if not password:
                raise CommandError(f"{password_env} is not set")
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                if not cursor.fetchone()[0]:
                    raise CommandError("create_app_role must run as a superuser")
                owned = create_app_role(cursor, role, password)
        except DatabaseError as exc:
            raise CommandError(f"could not set up role {role!r}: {exc}") from None
        database = connection.settings_dict["NAME"]
        self.stdout.write(f"role {role} owns {owned} objects of database {database}")
