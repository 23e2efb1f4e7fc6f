"""`/docs`: Swagger UI served from this server's own files, so it works offline and
under the app's Content-Security-Policy (ui/web/security.py: scripts only from 'self'
plus the page's one inline start-up script; nothing needs eval or a foreign origin).

The assets come from the `swagger-ui-bundle` wheel (its `swagger_ui_path`), mounted at
`/docs/assets`; only the files the page uses are served (not the wheel's demo
index.html, whose initializer fetches a remote Petstore). Swagger UI's validator badge
(an image from a third-party site) is off.

That wheel ships Swagger UI 4.15.5, which refuses OpenAPI 3.1 ("Unable to render this
definition ... openapi: 3.0.n") and FastAPI writes 3.1. So the page reads
`/docs/openapi.json`: the same document as the app's `openapi_url`, rewritten into
OpenAPI 3.0.3 for display (`openapi_30`). `/openapi.json` itself stays 3.1 and is the
contract; the 3.0 view exists only for this page.

    app = FastAPI(docs_url=None, ...)   # FastAPI's own /docs loads from a CDN
    mount_docs(app)                     # before anything mounted at "/" (the chat)
"""

from __future__ import annotations

import html
from copy import deepcopy
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope
from swagger_ui_bundle import swagger_ui_path

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
SPEC_URL = "/docs/openapi.json"
ASSET_FILES = frozenset({
    "swagger-ui-bundle.js", "swagger-ui-bundle.js.map", "swagger-ui.css",
    "swagger-ui.css.map", "favicon-32x32.png", "favicon-16x16.png"})
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}  # no badge image from validator.swagger.io
# JSON Schema 2020-12 keywords OpenAPI 3.0's schema dialect does not have
_DROP = frozenset({"$schema", "$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$comment",
                   "contentMediaType", "contentEncoding", "contentSchema", "prefixItems",
                   "unevaluatedProperties", "unevaluatedItems", "dependentSchemas",
                   "dependentRequired", "propertyNames", "if", "then", "else", "$defs",
                   "patternProperties", "contains", "minContains", "maxContains"})
# keys whose value is a map of name -> schema (not a schema itself)
_SCHEMA_MAPS = frozenset({"properties", "schemas"})
_SCHEMA_LISTS = frozenset({"anyOf", "oneOf", "allOf"})
_SCHEMA_VALUES = frozenset({"items", "not", "additionalProperties", "schema"})


class _Assets(StaticFiles):
    """StaticFiles limited to ASSET_FILES (404 for the rest of the wheel's folder)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if path not in ASSET_FILES:
            raise HTTPException(status_code=404)
        return await super().get_response(path, scope)


def mount_docs(app: FastAPI, *, title: str | None = None) -> None:
    """Serve Swagger UI at `/docs` with local assets under `/docs/assets` and the 3.0
    view of the app's OpenAPI document at `/docs/openapi.json`. Like FastAPI, nothing is
    added when the app has no `openapi_url`. Call it before mounting anything at "/"."""
    if not app.openapi_url:
        return
    page_title = html.escape(title or f"{app.title} - API docs")
    cached: dict[str, Any] = {}

    app.mount(ASSETS_URL, _Assets(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + SPEC_URL, title=page_title,
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon-32x32.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS)

    @app.get(SPEC_URL, include_in_schema=False)
    async def swagger_ui_spec() -> JSONResponse:
        if "spec" not in cached:  # app.openapi() is itself computed once
            cached["spec"] = openapi_30(app.openapi())
        return JSONResponse(cached["spec"])


def openapi_30(spec: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI 3.1 document rewritten as 3.0.3 for Swagger UI 4 (a copy; `spec` is
    not changed): `{"type": "null"}` alternatives and type lists become `nullable`,
    `const` an one-value `enum`, schema `examples` lists a single `example`, numeric
    `exclusiveMinimum/Maximum` the 3.0 boolean form; 3.1-only fields are dropped."""
    out = deepcopy(spec)
    out["openapi"] = "3.0.3"
    for key in ("webhooks", "jsonSchemaDialect"):
        out.pop(key, None)
    info = out.get("info", {})
    info.pop("summary", None)
    if isinstance(info.get("license"), dict):
        info["license"].pop("identifier", None)
    _walk(out)
    return out


def _walk(node: Any) -> None:
    """Rewrite every schema found under `node` (an OpenAPI object) in place."""
    if isinstance(node, list):
        for item in node:
            _walk(item)
        return
    if not isinstance(node, dict):
        return
    for key, value in list(node.items()):
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            for name, schema in list(value.items()):
                value[name] = _schema(schema)
        elif key in _SCHEMA_VALUES and isinstance(value, dict):
            node[key] = _schema(value)
        else:
            _walk(value)


def _schema(schema: Any) -> Any:
    """One JSON Schema 2020-12 object -> an OpenAPI 3.0 Schema Object."""
    if not isinstance(schema, dict):
        return schema
    out = {k: v for k, v in schema.items() if k not in _DROP}
    nullable = False
    kind = out.get("type")
    if isinstance(kind, list):
        kinds = [k for k in kind if k != "null"]
        nullable = len(kinds) < len(kind)
        if len(kinds) == 1:
            out["type"] = kinds[0]
        else:
            out.pop("type")
            if kinds:
                out["anyOf"] = [{"type": k} for k in kinds] + out.get("anyOf", [])
    elif kind == "null":
        out.pop("type")
        nullable = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if isinstance(out.get("examples"), list):
        examples = out.pop("examples")
        if examples and "example" not in out:
            out["example"] = examples[0]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[plain], out[bound] = value, True
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            parts = [p for p in out[key] if not _is_null(p)]
            nullable = nullable or len(parts) < len(out[key])
            out[key] = [_schema(p) for p in parts]
            if not out[key]:
                out.pop(key)
    for key in _SCHEMA_VALUES - {"schema"}:
        if isinstance(out.get(key), dict):
            out[key] = _schema(out[key])
    if isinstance(out.get("properties"), dict):
        out["properties"] = {k: _schema(v) for k, v in out["properties"].items()}
    for key in ("anyOf", "oneOf"):  # one alternative left: no union any more
        if isinstance(out.get(key), list) and len(out[key]) == 1 and nullable:
            only = out.pop(key)[0]
            if "$ref" in only:  # 3.0 ignores siblings of $ref: wrap it
                out["allOf"] = [only, *out.get("allOf", [])]
            else:
                out = {**only, **out}
    if "$ref" in out and len(out) > 1:
        ref = {"$ref": out.pop("$ref")}
        out["allOf"] = [ref, *out.get("allOf", [])]
    if nullable:
        out["nullable"] = True
        if not any(k in out for k in ("type", "allOf", "anyOf", "oneOf", "enum")):
            out["type"] = "object"  # a bare null: 3.0 needs a type beside nullable
    return out


def _is_null(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "null" and len(
        [k for k in schema if k not in ("title", "description")]) == 1
