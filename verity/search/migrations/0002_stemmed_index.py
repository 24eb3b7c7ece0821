"""The index now stores stems (verity.search.analysis) and the plain body for snippets.
The table is recreated empty here; the post-migrate hook in verity.search.apps refills it
with the code of the running version."""

from django.db import migrations


def recreate(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        from verity.search.backends.sqlite import create_schema, drop_schema
    else:
        from verity.search.backends.postgres import create_schema, drop_schema
    drop_schema(schema_editor.connection)
    create_schema(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_search_index")]
    operations = [migrations.RunPython(recreate, migrations.RunPython.noop)]
