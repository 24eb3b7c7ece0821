"""SQLite: the index gains a scope column holding each card's collection, so the permission
filter runs inside FTS5. The table is recreated empty; the post-migrate hook in
verity.search.apps refills it (PostgreSQL keeps its table: nothing changes there)."""

from django.db import migrations


def recreate(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    from verity.search.backends.sqlite import create_schema, drop_schema

    drop_schema(schema_editor.connection)
    create_schema(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("search", "0004_search_analytics")]
    operations = [migrations.RunPython(recreate, migrations.RunPython.noop)]
