"""Django's PostgreSQL backend on the project's embedded server, started at the first connection.

The settings name a data folder instead of an address (config.database.embedded_settings): the
server's socket and port are known only once it runs. Starting it here rather than when settings
are imported means that `manage.py check`, `makemigrations --check` or a script that only reads
settings starts no server.
"""

from __future__ import annotations

from pathlib import Path

from django.db.backends.postgresql import base

from config.database import DATABASE_NAME, embedded_address


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict:
        settings_dict = self.settings_dict
        if not settings_dict["HOST"]:
            # Once per process: the address is kept in the settings, which every later connection
            # (and code that reads them, such as a test's DATABASE_URL for a subprocess) shares.
            # The app's own database is created on first use; the test runner creates its own.
            database = DATABASE_NAME if settings_dict["NAME"] == DATABASE_NAME else None
            address = embedded_address(Path(settings_dict["DATA_DIR"]), database=database)
            settings_dict.update(address)
        return super().get_connection_params()
