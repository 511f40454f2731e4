"""The register of processing: generated from what the services declare, committed as generated, and no column
about a person without a purpose written down."""

from __future__ import annotations

import difflib
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Column, MetaData, String

from verbinding_devstack.catalogue import _code_defaults
from verbinding_devstack.register import build

ROOT = Path(__file__).resolve().parents[2]


def register():
    with _code_defaults():
        return build(ROOT)


def test_the_committed_register_is_what_make_register_generates() -> None:
    """Generated in a fresh interpreter, as `make register` does: this process has imported and built many apps."""
    script = ("import json, pathlib, sys; from verbinding_devstack.catalogue import _code_defaults; "
              "from verbinding_devstack.register import generated\nwith _code_defaults():\n"
              "    print(json.dumps({str(k): v for k, v in generated(pathlib.Path(sys.argv[1])).items()}))")
    run = subprocess.run([sys.executable, "-c", script, str(ROOT)], capture_output=True, text=True, check=True)
    files = json.loads(run.stdout.strip().splitlines()[-1])
    stale = {path: "".join(difflib.unified_diff((ROOT / path).read_text().splitlines(True) if (ROOT / path).is_file()
                                                else [], text.splitlines(True), n=0))[:2000]
             for path, text in files.items() if not (ROOT / path).is_file() or (ROOT / path).read_text() != text}
    assert stale == {}, f"out of date (run `make register`, review and commit the diff): {stale}"


def test_every_column_about_a_person_has_a_purpose_and_every_service_holding_persons_declares_them() -> None:
    current = register()
    assert {"intake", "case-plan", "employment"} <= set(current.declared)
    assert {name: data.unexplained_columns() for name, data in current.declared.items()} == \
        {name: [] for name in current.declared}
    assert current.undeclared == {}, "tables with a person_id in a service that declares no personal data"


def test_a_column_added_to_a_table_about_a_person_without_a_purpose_is_caught() -> None:
    intake = register().declared["intake"]
    metadata = MetaData()
    for table in intake.metadata.sorted_tables:
        table.to_metadata(metadata)
    metadata.tables["person"].append_column(Column("nickname", String(50)))
    metadata.tables["interview"].append_column(Column("notes", String(500), info={"personal": "why: it is said"}))
    assert replace(intake, metadata=metadata).unexplained_columns() == ["person.nickname"]
