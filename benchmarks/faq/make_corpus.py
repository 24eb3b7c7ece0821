"""Write benchmarks/faq/corpus.jsonl from the demo content (see README.md next to it).

One line per demo card, in the order the demo loader creates them: `_id` is the card's
external id without the `demo:` prefix (stable across runs: it is how the loader itself
finds the card again), `title` the card title and `text` its Markdown body. Rerun after
changing the demo so the judged ids stay in step:

    .venv/bin/python benchmarks/faq/make_corpus.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def main() -> None:
    # Reading the demo files needs the Django app registry, never a database.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("VERITY_VAR_DIR", tempfile.mkdtemp(prefix="verity-faq-"))
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from verity.core.demo.loader import card_records

    lines = []
    for record in card_records():
        lines.append(
            json.dumps(
                {
                    "_id": str(record["external_id"]).removeprefix("demo:"),
                    "title": record["title"],
                    "text": record.get("content") or "",
                },
                ensure_ascii=False,
            )
        )
    (HERE / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(lines)} cards to {HERE / 'corpus.jsonl'}")


if __name__ == "__main__":
    main()
