"""Readers: JSONL (one card per line), a folder of Markdown files with YAML front matter,
and Guru's collection zip (collection.yaml, cards/*.yaml + .html/.md, folders/*.yaml).

Readers only parse: every record comes back with where it was found, and anything that
cannot even be parsed comes back as a Problem. Checking the values against the database
is the importer's job."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from verity.knowledge.transfer.records import CardRecord, Problem, ReadResult

FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S)
FIRST_HEADING = re.compile(r"\A\s*#[ \t]+(.+?)[ \t#]*(?:\r?\n|\Z)")


def detect_format(path: Path) -> str:
    """'verity' (a full export), 'jsonl', 'markdown' or 'guru'."""
    if path.is_dir():
        if (path / "manifest.json").exists():
            return "verity"
        if (path / "collection.yaml").exists() and (path / "cards").is_dir():
            return "guru"
        return "markdown"
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as archive:
            names = {_strip_root(n, archive) for n in archive.namelist()}
        return "verity" if "manifest.json" in names else "guru"
    if path.suffix.lower() in {".md", ".markdown"}:
        return "markdown"
    return "jsonl"


# ---------------------------------------------------------------- JSONL


def read_jsonl_lines(lines: Iterator[str] | list[str], source: str = "") -> ReadResult:
    result = ReadResult()
    prefix = f"{source} " if source else ""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{prefix}line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            result.problems.append(Problem(where, f"bad JSON ({exc.msg} at column {exc.colno})"))
            continue
        if not isinstance(data, dict):
            result.problems.append(Problem(where, "bad JSON (each line must be an object)"))
            continue
        result.records.append(CardRecord.from_mapping(where, data))
    return result


def read_jsonl(path: Path) -> ReadResult:
    with path.open(encoding="utf-8-sig") as handle:
        return read_jsonl_lines(list(handle))


# ---------------------------------------------------------------- Markdown


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """The YAML front matter (a mapping) and the body. Raises ValueError on bad YAML."""
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"bad YAML front matter ({str(exc).splitlines()[0]})") from None
    if not isinstance(meta, dict):
        raise ValueError("the front matter must be a YAML mapping (key: value lines)")
    return meta, text[match.end() :]


def markdown_record(where: str, text: str, stem: str, folder: list[str]) -> CardRecord:
    meta, body = split_front_matter(text)
    if not meta.get("title"):
        heading = FIRST_HEADING.match(body)
        if heading:
            meta["title"] = heading.group(1).strip()
            body = body[heading.end() :]  # the title is shown above the body already
        else:
            meta["title"] = " ".join(re.split(r"[-_\s]+", stem)).strip()
    if "content" not in meta:
        meta["content"] = body.strip("\n") + "\n" if body.strip() else ""
    if "folders" not in meta and folder:
        meta["folders"] = ["/".join(folder)]
    return CardRecord.from_mapping(where, meta)


def read_markdown(path: Path) -> ReadResult:
    """Every *.md file under `path`; a file in a subfolder goes into the folder of the same
    path unless its front matter says otherwise."""
    result = ReadResult()
    files = (
        [path] if path.is_file() else sorted(path.rglob("*.md")) + sorted(path.rglob("*.markdown"))
    )
    root = path.parent if path.is_file() else path
    for file in files:
        relative = file.relative_to(root)
        where = str(relative)
        try:
            text = file.read_text(encoding="utf-8-sig")
            result.records.append(
                markdown_record(where, text, file.stem, list(relative.parent.parts))
            )
        except UnicodeDecodeError:
            result.problems.append(Problem(where, "not UTF-8 text"))
        except ValueError as exc:
            result.problems.append(Problem(where, str(exc)))
    return result


# ---------------------------------------------------------------- Guru zip


def _strip_root(name: str, archive: zipfile.ZipFile) -> str:
    """Zips made by hand often wrap everything in one top folder; look through it."""
    tops = {n.split("/", 1)[0] for n in archive.namelist() if "/" in n}
    if len(tops) == 1 and not any("/" not in n for n in archive.namelist() if n.strip("/")):
        top = next(iter(tops)) + "/"
        return name[len(top) :] if name.startswith(top) else name
    return name


def html_to_body(html: str) -> str:
    """Guru bodies are HTML. Markdown passes raw HTML through to the sanitiser, but a blank
    line or indentation inside an HTML block would turn the rest into Markdown code blocks,
    so the lines are dedented and blank lines dropped."""
    lines = [line.strip() for line in html.replace("\r\n", "\n").split("\n")]
    return "\n".join(line for line in lines if line) + "\n"


def _guru_items(data: Any) -> list[tuple[str, str]]:
    items = (data or {}).get("Items") or [] if isinstance(data, dict) else []
    found = []
    for item in items:
        if isinstance(item, dict) and item.get("ID"):
            found.append((str(item.get("Type", "card")).lower(), str(item["ID"])))
    return found


def _yaml(text: str, where: str, result: ReadResult) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        result.problems.append(Problem(where, f"bad YAML ({str(exc).splitlines()[0]})"))
        return None
    if not isinstance(data, dict):
        result.problems.append(Problem(where, "bad YAML (expected a mapping)"))
        return None
    return data


def read_guru(path: Path) -> ReadResult:
    """A Guru collection import/export zip (or the same layout unpacked in a directory)."""
    files: dict[str, bytes] = {}
    if path.is_dir():
        for file in path.rglob("*"):
            if file.is_file():
                files[file.relative_to(path).as_posix()] = file.read_bytes()
    else:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    files[_strip_root(info.filename, archive)] = archive.read(info)
    result = ReadResult()

    def text(name: str) -> str:
        return files[name].decode("utf-8-sig")

    collection = (
        _yaml(text("collection.yaml"), "collection.yaml", result)
        if "collection.yaml" in files
        else {}
    )
    if "collection.yaml" not in files:
        result.problems.append(Problem("collection.yaml", "missing: not a Guru collection export"))
    collection = collection or {}
    name = collection.get("Name") or collection.get("Title")
    result.collection = str(name) if name else None

    # Folders: folders/<ID>.yaml with a Title and Items (cards and sub-folders), nested from
    # the collection's top-level Items.
    folders: dict[str, dict[str, Any]] = {}
    for file_name in sorted(files):
        posix = PurePosixPath(file_name)
        if posix.parent.name in {"folders", "boards"} and posix.suffix in {".yaml", ".yml"}:
            folder_data = _yaml(text(file_name), file_name, result)
            if folder_data is not None:
                folders[posix.stem] = folder_data
    card_folders: dict[str, list[list[str]]] = {}

    def walk(folder_id: str, trail: list[str], seen: set[str]) -> None:
        if folder_id in seen or folder_id not in folders:
            return
        data = folders[folder_id]
        here = [*trail, str(data.get("Title") or folder_id).strip()]
        result.folders.append(here)
        for kind, item_id in _guru_items(data):
            if kind == "folder":
                walk(item_id, here, seen | {folder_id})
            else:
                card_folders.setdefault(item_id, []).append(here)

    nested = {i for data in folders.values() for kind, i in _guru_items(data) if kind == "folder"}
    top_level = [i for kind, i in _guru_items(collection) if kind == "folder"]
    top_level += [f for f in folders if f not in nested and f not in top_level]
    for folder_id in top_level:
        walk(folder_id, [], set())

    for file_name in sorted(files):
        posix = PurePosixPath(file_name)
        if posix.parent.name != "cards" or posix.suffix not in {".yaml", ".yml"}:
            continue
        meta = _yaml(text(file_name), file_name, result)
        if meta is None:
            continue
        stem = str(posix.with_suffix(""))
        body = ""
        if f"{stem}.md" in files:
            body = text(f"{stem}.md")
        elif f"{stem}.html" in files:
            body = html_to_body(text(f"{stem}.html"))
        data: dict[str, Any] = {
            "title": meta.get("Title", meta.get("title")),
            "content": body,
            "external_id": str(meta.get("ExternalId") or f"guru:{posix.stem}"),
        }
        tags = meta.get("Tags", meta.get("tags"))
        if tags is not None:
            # Guru tags may carry a category ("Category:Tag"); Verity tags are flat.
            data["tags"] = (
                [str(t).split(":", 1)[-1] for t in tags] if isinstance(tags, list) else tags
            )
        verifier = meta.get("VerifierEmail") or meta.get("Verifier") or meta.get("verifier")
        if verifier:
            data["verifier"] = verifier
        interval = meta.get("VerificationInterval", meta.get("verification_interval_days"))
        if interval is not None:
            data["verification_interval_days"] = interval
        paths = card_folders.get(posix.stem)
        if paths:
            data["folders"] = paths
        result.records.append(CardRecord.from_mapping(file_name, data))
    return result


def read_path(path: Path) -> tuple[str, ReadResult]:
    kind = detect_format(path)
    if kind == "guru":
        return kind, read_guru(path)
    if kind == "markdown":
        return kind, read_markdown(path)
    if kind == "jsonl":
        return kind, read_jsonl(path)
    raise ValueError("a full Verity export is read by verity.knowledge.transfer.restore")
