"""Models and jobs as one JSON file each under the data directory, written atomically."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

KINDS = ("models", "jobs")


class Store:
    """Records by kind and name. Each record is a JSON object; writers hold `lock`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.lock = threading.RLock()
        for kind in KINDS:
            (data_dir / kind).mkdir(parents=True, exist_ok=True)

    def _path(self, kind: str, name: str) -> Path:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind}")
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"invalid name {name!r}")
        return self.data_dir / kind / f"{name}.json"

    def get(self, kind: str, name: str) -> dict[str, Any] | None:
        try:
            path = self._path(kind, name)
        except ValueError:
            return None
        try:
            record: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        return record

    def put(self, kind: str, name: str, record: dict[str, Any]) -> None:
        path = self._path(kind, name)
        temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        temporary.write_text(json.dumps(record, indent=2))
        os.replace(temporary, path)

    def delete(self, kind: str, name: str) -> bool:
        try:
            self._path(kind, name).unlink()
        except (FileNotFoundError, ValueError):
            return False
        return True

    def all(self, kind: str) -> list[dict[str, Any]]:
        records = []
        for path in sorted((self.data_dir / kind).glob("*.json")):
            try:
                records.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # removed or half-written by hand: not a record
        return records
