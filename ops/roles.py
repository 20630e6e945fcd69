"""A least-privilege PostgreSQL role for the app: it owns the app's tables and nothing more.

The app needs no superuser once its extensions exist: it creates, alters and reads its own
tables (migrations included), and that is what owning them gives. Run once as a superuser, after
the first `migrate` (which created the extensions `vector` and `pg_trgm`, something only a
superuser may do), then point DATABASE_URL at the role.
"""

from __future__ import annotations

from psycopg import sql

# Everything in the public schema that is not part of an extension (pgvector's types and
# functions stay the superuser's): tables, sequences, views, and the trigger functions.
APP_RELATIONS = """
SELECT c.relname, c.relkind FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.relname
"""
APP_FUNCTIONS = """
SELECT p.oid::regprocedure::text FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
"""
KIND = {"r": "TABLE", "p": "TABLE", "S": "SEQUENCE", "v": "VIEW", "m": "MATERIALIZED VIEW"}


def create_app_role(cursor, role: str, password: str | None) -> int:
    """Create the role (or bring it back to least privilege) and give it the app's objects in
    the database `cursor` is connected to. Returns how many objects it now owns."""
    name = sql.Identifier(role)
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    verb = "ALTER" if cursor.fetchone() else "CREATE"
    attributes = sql.SQL("LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS")
    statement = sql.SQL("{} ROLE {} {}").format(sql.SQL(verb), name, attributes)
    if password:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    cursor.execute(statement)
    cursor.execute("SELECT current_database()")
    database = sql.Identifier(cursor.fetchone()[0])
    cursor.execute(sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(database, name))
    cursor.execute(sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(name))
    cursor.execute(APP_RELATIONS)
    relations = cursor.fetchall()
    for relation, kind in relations:
        cursor.execute(
            sql.SQL("ALTER {} {} OWNER TO {}").format(
                sql.SQL(KIND[kind]), sql.Identifier(relation), name
            )
        )
    cursor.execute(APP_FUNCTIONS)
    functions = [row[0] for row in cursor.fetchall()]
    for function in functions:
        # regprocedure text is already a quoted signature: name(argtypes).
        cursor.execute(sql.SQL("ALTER FUNCTION {} OWNER TO {}").format(sql.SQL(function), name))
    return len(relations) + len(functions)
