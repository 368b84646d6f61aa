"""The dbt project runs in one direction: every model and snapshot reads only its own layer and
the layers below it, and names each dependency with ref() or source(), never by its table name.
Labels are listed once, in the vocabulary seed, and tests check columns against it.

Read from the manifest of ``dbt parse``."""

from __future__ import annotations

import csv
import json
import re

import pytest

from libcrm import config, transform

# Lowest first. Sources and seeds feed every layer; a model's layer is its folder under models/.
LAYERS = (
    "sources",
    "staging",
    "intermediate",
    "marts/core",
    "marts/crm",
    "snapshots",
    "marts/history",
)
COMMENTS = re.compile(r"--[^\n]*|\{#.*?#\}", re.S)
DEPENDENCY_CALLS = re.compile(r"\b(?:ref|source)\s*\([^)]*\)")


@pytest.fixture(scope="module")
def manifest(tmp_path_factory, admin_url) -> dict:
    target = tmp_path_factory.mktemp("dbt_parse")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_TARGET_PATH", str(target / "target"))
        patch.setenv("DBT_LOG_PATH", str(target / "logs"))
        # Parsing never queries the warehouse, but the connection settings dbt gets are what
        # libpq resolves for a server that answers.
        transform.run_dbt(["parse"], admin_url)
    return json.loads((target / "target" / "manifest.json").read_text())


def layer_of(node: dict) -> str | None:
    """The layer a node belongs to, or None when its folder is in no layer."""
    if node["resource_type"] in ("source", "seed"):
        return "sources"
    if node["resource_type"] == "snapshot":
        return "snapshots"
    folder = "/".join(node["fqn"][1:-1])
    matches = [layer for layer in LAYERS if folder == layer or folder.startswith(layer + "/")]
    return max(matches, key=len, default=None)


def built(manifest: dict) -> list[dict]:
    return [n for n in manifest["nodes"].values() if n["resource_type"] in ("model", "snapshot")]


def test_every_model_sits_in_a_layer(manifest):
    homeless = [n["original_file_path"] for n in built(manifest) if layer_of(n) is None]
    assert homeless == [], (
        f"models outside every layer: {homeless}; move each into one of the folders "
        f"{', '.join(LAYERS[1:])} (see docs/marts.md)"
    )


def test_no_model_reads_a_layer_above_its_own(manifest):
    nodes = {**manifest["nodes"], **manifest["sources"]}
    rank = {layer: position for position, layer in enumerate(LAYERS)}
    upward = [
        f"{node['original_file_path']} ({layer_of(node)}) reads {nodes[parent]['name']} "
        f"({layer_of(nodes[parent])})"
        for node in built(manifest)
        if layer_of(node) is not None
        for parent in node["depends_on"]["nodes"]
        if layer_of(nodes[parent]) is not None
        and rank[layer_of(nodes[parent])] > rank[layer_of(node)]
    ]
    assert upward == [], (
        "models reading a layer above their own (move the logic lower or the model higher):\n"
        + "\n".join(upward)
    )


def test_every_dependency_is_named_by_ref_or_source(manifest):
    names = {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] in ("model", "snapshot", "seed")
    }
    by_name = []
    for node in built(manifest):
        code = DEPENDENCY_CALLS.sub("", COMMENTS.sub("", node["raw_code"]))
        by_name += [
            f"{node['original_file_path']} names {other}"
            for other in sorted(names - {node["name"]})
            if re.search(rf"\b{other}\b", code)
        ]
    assert by_name == [], (
        "dependencies looked up by name; use ref() so dbt orders and checks them:\n"
        + "\n".join(by_name)
    )


def test_label_sets_are_listed_only_in_the_vocabulary_seed(manifest):
    seed = config.dbt_project_dir() / "seeds" / "crm_vocabulary.csv"
    vocabulary: dict[str, set[str]] = {}
    with seed.open(newline="") as handle:
        for row in csv.DictReader(handle):
            vocabulary.setdefault(row["kind"], set()).add(row["code"])
    copies = [
        f"{test['original_file_path']}: {test['name']} lists {kind} codes; "
        f"use in_vocabulary with kinds: {kind}"
        for test in manifest["nodes"].values()
        if test["resource_type"] == "test"
        and (test.get("test_metadata") or {}).get("name") == "accepted_values"
        for kind, codes in vocabulary.items()
        if codes & {str(value) for value in test["test_metadata"]["kwargs"]["values"]}
    ]
    assert copies == []
