"""Percentages become terms of their own ("25%" is indexed as "25pct" beside "25"), so the
index is recreated empty here and the post-migrate hook in verity.search.apps refills it with
the code of the running version (`verity search rebuild` does the same on demand)."""

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
    dependencies = [("search", "0007_change_serial_per_transaction")]
    operations = [migrations.RunPython(recreate, migrations.RunPython.noop)]
