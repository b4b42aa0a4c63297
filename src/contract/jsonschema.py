"""Pydantic models -> JSON schemas, generated in one batch so each model is defined once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import core_schema

from src.contract.model import SCHEMA_REF_PREFIX, Schema

SchemaRequest = tuple[type[BaseModel], JsonSchemaMode]
"""A model and the direction it travels: `validation` inbound, `serialization` outbound."""


class WireSchema(GenerateJsonSchema):
    """Pydantic's generator, tuned to what is on the wire.

    The server dumps every field, defaults and `None`s included, so in `serialization` mode
    every field is required (a client may rely on `replayed` being there). Per-field titles
    ("User Id") are dropped: they repeat the key and clutter the TypeScript and the docs.
    """

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization":
            return True
        return super().field_is_required(field, total)

    def field_title_should_be_set(self, schema: Any) -> bool:  # noqa: ARG002
        return False


def model_schemas(
    requests: Sequence[SchemaRequest],
) -> tuple[dict[SchemaRequest, Schema], dict[str, Schema]]:
    """The `$ref` of each requested model and the shared definitions they point into.

    A model that differs between directions is defined twice (`Name-Input`, `Name-Output`).
    """
    unique = list(dict.fromkeys(requests))
    refs, top = models_json_schema(
        unique, ref_template=SCHEMA_REF_PREFIX + "{model}", schema_generator=WireSchema
    )
    definitions: dict[str, Schema] = top.get("$defs", {})
    return {request: dict(refs[request]) for request in unique}, definitions
