"""Vendor a custom resource's schema from its operator's CRD file, as deploy/schemas/README.md records.

python deploy/schemas/vendor_crd.py <clone of the operator> <release tag> <CRD file in it> <output .json>

Reads the file at the tag from the local clone (git show, nothing fetched), takes the `v1` version's
openAPIV3Schema and writes it as JSON, otherwise unchanged.
"""

from __future__ import annotations

import json
import subprocess
import sys

import yaml


def main(clone: str, tag: str, path: str, output: str) -> None:
    text = subprocess.run(["git", "-C", clone, "show", f"{tag}:{path}"], check=True, capture_output=True,
                          text=True).stdout
    crd = next(item for item in yaml.safe_load_all(text) if item and item.get("kind") == "CustomResourceDefinition")
    [version] = [version for version in crd["spec"]["versions"] if version["name"] == "v1"]
    with open(output, "w") as file:
        file.write(json.dumps(version["schema"]["openAPIV3Schema"], indent=1) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:5])
