"""What a local deploy remembers between commands: stacks, their resources, the endpoint's runs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from constructs_local.cloudformation.assembly import AssemblyError

DEFAULT_STATE_FILE = Path(".local-deploy") / "state.json"
STATE_VERSION = 1


def _load_state(path: Path | None) -> dict[str, Any]:
    if path is None or not path.is_file():
        return {"version": STATE_VERSION, "stacks": {}}
    state: dict[str, Any] = json.loads(path.read_text())
    if state.get("version") != STATE_VERSION:
        raise AssemblyError(f"{path} was written by another version of the local replay; delete it to start over")
    return state


def _save_state(path: Path | None, state: Mapping[str, Any]) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(state, indent=1, sort_keys=True, default=str))
    temporary.replace(path)


@dataclass
class _Resource:
    type: str
    physical_id: str
    properties: Any = None
    data: dict[str, Any] = field(default_factory=dict)
    fingerprint: str = ""
    service_token: Any = None  # the template's (unresolved) ServiceToken: how to find the provider again

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "physicalId": self.physical_id,
            "properties": self.properties,
            "data": self.data,
            "fingerprint": self.fingerprint,
            "serviceToken": self.service_token,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> _Resource:
        return cls(
            raw["type"],
            raw["physicalId"],
            raw.get("properties"),
            dict(raw.get("data") or {}),
            raw.get("fingerprint", ""),
            raw.get("serviceToken"),
        )
