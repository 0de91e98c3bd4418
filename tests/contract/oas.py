"""Zoho's published OpenAPI files as JSON Schema validators, for the contract tests.

The files are in ``openapi/`` beside this module, copied unchanged from Zoho's crm-oas repository
(``openapi/README.md`` names each). They are OpenAPI 3.0 (``nullable``) and 3.1; ``nullable: true`` is turned
into a ``null`` type here.
References to Zoho's files by URL resolve to the local copies; the few files that are not published locally
(users, profiles, related lists, custom views) resolve to what the doc pages show (``owner`` = ``{name, id}``)
or to "anything".

Where Zoho's sources disagree, ``CONFLICTS`` lists each place a schema is widened, with the source that
widens it; nothing else is changed.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import yaml
from referencing.jsonschema import DRAFT202012

#: Zoho's files, kept in the repository so the contract tests run on any clone.
SPEC_DIR = Path(__file__).with_name("openapi")
_BASE = "https://raw.githubusercontent.com/Zohocorp-Pvt-Ltd/crm-oas/refs/heads/main/v8.0/"
FILES = {
    "deal_link_emails.yaml": "deal_link_emails.yaml",
    "email_related_records.json": "email_related_records.json",
    "associate_email.json": "associate_email.json",
    "associate_email.yaml": "associate_email.yaml",
    "modules.json": "modules.json",
    "common.json": "common.json",
    "fields.json": "fields.json",
    "record.json": "record.json",
    "coql.json": "coql.json",
    "record_count.json": "record_count.json",
    "bulk_read.json": "bulk_read.json",
    "bulk_write.json": "bulk_write.json",
}
#: Files Zoho's schemas point at that are not published beside them: the doc pages' shapes, or anything.
_STUBS: dict[str, dict[str, Any]] = {
    "users.json": {
        "components": {
            "schemas": {
                "Minified_User": {
                    "type": ["object", "null"],
                    "properties": {"name": {"type": ["string", "null"]}, "id": {"type": ["string", "null"]}},
                }
            }
        }
    },
    "profiles.json": {"components": {"schemas": {"Minified_Profile": {}}}},
    "related_lists.json": {"components": {"schemas": {"related_list": {}}}},
    "custom_views.json": {"components": {"schemas": {"custom_views": {}}}},
    "tags.json": {"components": {"schemas": {"Tag": {}}}},
}


def _load(path: Path) -> Any:
    text = path.read_text()
    return yaml.safe_load(text) if path.suffix == ".yaml" else json.loads(text)


def _nullable(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema: ``null`` added to the type (and enum)."""
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _nullable(value) for key, value in node.items()}
    if out.pop("nullable", False):
        if "type" in out:
            out["type"] = [out["type"], "null"] if isinstance(out["type"], str) else [*out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
        elif "$ref" in out:
            out = {"anyOf": [{"$ref": out.pop("$ref")}, {"type": "null"}], **out}
    return out


def _absolute_refs(node: Any, base: str) -> Any:
    if isinstance(node, list):
        return [_absolute_refs(item, base) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _absolute_refs(value, base) for key, value in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        out["$ref"] = base + ref
    elif isinstance(ref, str) and ".yaml#" in ref and not ref.startswith("http"):
        out["$ref"] = _BASE + ref  # deal_link_emails.yaml points at sibling files by name
    return out


@functools.cache
def _registry() -> tuple[referencing.Registry[Any], dict[str, Any]]:
    documents: dict[str, Any] = {name: _load(SPEC_DIR / local) for name, local in FILES.items()}
    documents.update(copy.deepcopy(_STUBS))
    resources = []
    prepared: dict[str, Any] = {}
    for name, document in documents.items():
        uri = _BASE + name
        body = _absolute_refs(_nullable(document), uri)
        prepared[name] = body
        resources.append((uri, DRAFT202012.create_resource(body)))
    return referencing.Registry().with_resources(resources), prepared


def document(name: str) -> Any:
    """One file, as prepared (nullable turned into null types, references absolute)."""
    return _registry()[1][name]


def pointer(*parts: str) -> str:
    """A JSON pointer from unescaped parts."""
    return "/" + "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def validator(name: str, *parts: str, widen: Any = None) -> jsonschema.Draft202012Validator:
    """A validator for the schema at ``parts`` of file ``name``; ``widen`` edits a copy of it first."""
    registry, prepared = _registry()
    node: Any = prepared[name]
    for part in parts:
        node = node[int(part)] if isinstance(node, list) else node[part]
    schema = copy.deepcopy(node)
    if widen is not None:
        widen(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def validator_for(schema: Any) -> jsonschema.Draft202012Validator:
    """A validator for a schema already taken out of the files (references resolve into them)."""
    return jsonschema.Draft202012Validator(schema, registry=_registry()[0])


def resolve(name: str, *parts: str) -> Any:
    """The schema at ``parts`` of file ``name`` with its top-level ``$ref`` followed (for editing)."""
    registry, prepared = _registry()
    node: Any = prepared[name]
    for part in parts:
        node = node[int(part)] if isinstance(node, list) else node[part]
    while isinstance(node, dict) and set(node) == {"$ref"}:
        node = registry.resolver().lookup(node["$ref"]).contents
    return copy.deepcopy(node)


def deref(node: Any) -> Any:
    """A copy of the schema a ``{"$ref": ...}`` node points at (the node itself when it is not a reference)."""
    registry = _registry()[0]
    while isinstance(node, dict) and set(node) == {"$ref"}:
        node = registry.resolver().lookup(node["$ref"]).contents
    return copy.deepcopy(node)


def check(schema_validator: jsonschema.Draft202012Validator, instance: Any) -> list[str]:
    """Every violation, as ``path: message`` lines (empty when the instance is valid); a failed ``oneOf``
    reports its alternatives' own violations."""
    return [f"{error.json_path}: {error.message}" for error in _leaves(schema_validator.iter_errors(instance))]


def _leaves(errors: Any) -> list[jsonschema.ValidationError]:
    out: list[jsonschema.ValidationError] = []
    for error in errors:
        out.extend(_leaves(error.context) if error.context else [error])
    return out
