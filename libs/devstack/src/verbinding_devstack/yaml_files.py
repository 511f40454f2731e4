"""Manifests written as YAML people read: no anchors, file modes in octal, long lines kept."""

from __future__ import annotations

from typing import Any

import yaml


class FileMode(int):
    """A file mode, written in octal as people read them (0440, not 288)."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # no &id001 anchors: every manifest reads on its own


_Dumper.add_representer(FileMode, lambda dumper, mode: dumper.represent_scalar("tag:yaml.org,2002:int", f"0{mode:o}"))


def dump(documents: list[dict[str, Any]], header: str = "") -> str:
    return header + "---\n".join(yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=120)
                                  for document in documents)
