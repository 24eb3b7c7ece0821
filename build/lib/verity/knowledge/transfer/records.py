"""What the readers produce and what the importer reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A key that was not in the record at all (as opposed to present and empty): on re-import
# an absent key leaves the card's value alone.
ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT", "__bool__": lambda s: False})()


@dataclass
class Problem:
    """A record that cannot be imported: where it is (line or file) and why."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class CardRecord:
    """One card as read from a file, before validation. Values are raw; keys the file did
    not carry are ABSENT."""

    where: str
    title: Any = ABSENT
    content: Any = ABSENT
    collection: Any = ABSENT
    tags: Any = ABSENT
    external_id: Any = ABSENT
    verifier: Any = ABSENT
    verification_interval_days: Any = ABSENT
    folders: Any = ABSENT
    # Only in Verity's own export: history, owner, verification metadata ...
    extra: dict[str, Any] = field(default_factory=dict)

    KEYS = (
        "title",
        "content",
        "collection",
        "tags",
        "external_id",
        "verifier",
        "verification_interval_days",
        "folders",
    )

    @classmethod
    def from_mapping(cls, where: str, data: dict[str, Any]) -> CardRecord:
        record = cls(where=where)
        for key in cls.KEYS:
            if key in data:
                setattr(record, key, data[key])
        record.extra = {k: v for k, v in data.items() if k not in cls.KEYS}
        return record


@dataclass
class ReadResult:
    records: list[CardRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # Set when the source names its collection itself (a Guru collection.yaml).
    collection: str | None = None
    # Folder paths the source declares, in order, even if no card is in them (Guru folders).
    folders: list[list[str]] = field(default_factory=list)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    folders_created: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged


class ImportFailed(Exception):
    """Some records are bad and --skip-invalid was not given: nothing was written."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} bad record(s); nothing was imported.")
        self.problems = problems
