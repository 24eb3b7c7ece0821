from django.db import migrations


def create_index(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        from verity.search.backends.sqlite import create_schema
    elif vendor == "postgresql":
        from verity.search.backends.postgres import create_schema
    else:
        raise RuntimeError(f"Verity supports SQLite and PostgreSQL, not {vendor}")
    create_schema(schema_editor.connection)


def drop_index(apps, schema_editor):
    table = "search_card_fts" if schema_editor.connection.vendor == "sqlite" else "search_document"
    schema_editor.execute(f"DROP TABLE IF EXISTS {table}")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]
    operations = [migrations.RunPython(create_index, drop_index)]
