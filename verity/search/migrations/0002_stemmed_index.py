"""The index now stores stems (verity.search.analysis) and the plain body for snippets.
The table is recreated empty here; the post-migrate hook in verity.search.apps refills it
with the code of the running version."""

from django.db import migrations


def recreate(apps, schema_editor):
    from verity.search.backends import recreate_index

    recreate_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("search", "0001_search_index")]
    operations = [migrations.RunPython(recreate, migrations.RunPython.noop)]
