"""The OpenAPI document as the app really answers: FastAPI's, completed where it cannot know.

Schemathesis (tests/api/test_schemathesis.py) checks every answer against this document, so it must
say what is true: the batch's `maxItems` is a setting, not part of a route's signature; and FastAPI
documents its own `HTTPValidationError` JSON for a 422 that this API answers as problem+json
(api/errors.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from .errors import documented_problem

_FASTAPI_422 = "#/components/schemas/HTTPValidationError"


def complete_openapi(app: FastAPI, max_batch_files: int) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        first = app.openapi_schema is None
        schema = build()  # FastAPI's, cached on the app after the first call
        if first:
            _document_batch_limit(schema, max_batch_files)
            _validation_errors_are_problems(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_batch_limit(schema: dict[str, Any], max_files: int) -> None:
    """`maxItems` of /predict/batch's `files` (schemathesis found it undocumented)."""
    content = schema["paths"]["/predict/batch"]["post"]["requestBody"]["content"]
    ref = content["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[-1]
    schema["components"]["schemas"][ref]["properties"]["files"]["maxItems"] = max_files


def _validation_errors_are_problems(schema: dict[str, Any]) -> None:
    """Every 422 FastAPI documented as its `HTTPValidationError` JSON is, in fact, problem+json."""
    for operations in schema["paths"].values():
        for operation in operations.values():
            response = operation.get("responses", {}).get("422")
            json_body = (response or {}).get("content", {}).get("application/json", {})
            if json_body.get("schema", {}).get("$ref") == _FASTAPI_422:
                operation["responses"]["422"] = documented_problem("A parameter or field is not valid")
    components = schema.get("components", {}).get("schemas", {})
    if _FASTAPI_422.rsplit("/", 1)[-1] in components and _FASTAPI_422 not in str(schema["paths"]):
        components.pop("HTTPValidationError")
        if "#/components/schemas/ValidationError" not in str(schema):
            components.pop("ValidationError", None)
