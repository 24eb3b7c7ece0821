"""Percentages become terms of their own ("25%" is indexed as "25pct" beside "25"), so the
index is recreated empty here and the post-migrate hook in verity.search.apps refills it with
the code of the running version (`verity search rebuild` does the same on demand)."""

from django.db import migrations


def recreate(apps, schema_editor):
    from verity.search.backends import recreate_index

    recreate_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("search", "0007_change_serial_per_transaction")]
    operations = [migrations.RunPython(recreate, migrations.RunPython.noop)]
