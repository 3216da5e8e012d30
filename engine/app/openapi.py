"""The service's contract: an OpenAPI 3.1 document generated from the Glossary.

One operation per decision (``POST /decide/<decision>``) whose request schema lists
the decision's inputs (type, allowed values as ``enum`` or bounds, the label as
``title``, the description) with examples from the Tests sheets, and whose response
schema lists its outputs; the generic ``POST /decide``; the read-only endpoints; the
support page (``GET /``, ``GET /form``, ``POST /why/<decision>`` with facts and want); the
admin ``POST /reload``; every error a JSON ``Error``.  A JSON null is the same as an
absent fact, so every input also takes null.

A new Glossary type needs its JSON Schema in ``_TYPE_SCHEMAS`` (tests check that
every ``Type`` has one).
"""
from __future__ import annotations

from typing import Any

from decide.model.asof import AS_OF
from decide.model.ir import Book, Field, Literal, RangeTest, Type
from decide.model.types import TOO_BIG
from decide.model.values import to_json

_NUMBER_BOUND = TOO_BIG  # a case's numbers are below it (casejson also bounds digits and exponents)

_TYPE_SCHEMAS: dict[Type, dict] = {
    Type.TEXT: {"type": "string"},
    Type.NUMBER: {"type": "number", "exclusiveMinimum": -_NUMBER_BOUND, "exclusiveMaximum": _NUMBER_BOUND},
    Type.INTEGER: {"type": "integer", "exclusiveMinimum": -_NUMBER_BOUND, "exclusiveMaximum": _NUMBER_BOUND},
    Type.BOOLEAN: {"type": "boolean"},
    Type.DATE: {"type": "string", "format": "date"},
    # what VersionSpec.parse_case takes: dotted text (spaces around ignored), or a number
    Type.VERSION: {"type": ["string", "integer", "number"], "pattern": r"^\s*\d+(\.\d+)*\s*$", "minimum": 0,
                   "description": 'a dotted version such as "6.7.0", compared part by part'},
    Type.TEXT_LIST: {"type": "array", "items": {"type": "string"}},
}

_ERRORS = {
    400: "bad JSON, or a case the decision does not accept (the message says which field and why)",
    401: "a bearer token is needed (Authorization: Bearer <token>)",
    403: "admin endpoints are off (no admin token configured)",
    404: "no such decision or path",
    413: "the body is over the limit",
    415: "the body is not JSON (Content-Type: application/json)",
    421: "the Host header is not one this service answers",
    422: "the case breaks a table's hit policy (UNIQUE or ANY), or the workbooks do not load (reload)",
    503: "the server is shutting down",
}


def value_schema(f: Field, *, nullable: bool) -> dict:
    """The JSON Schema of one Glossary field's values."""
    s = {k: v for k, v in _TYPE_SCHEMAS[f.type].items() if k != "description"}
    allowed = f.allowed
    if isinstance(allowed, tuple):
        values = [to_json(v) for v in allowed]
        if f.type is Type.TEXT_LIST:
            s["items"] = {"type": "string", "enum": values}
        else:
            s = {"enum": values}
    elif isinstance(allowed, RangeTest):
        for end, closed, key in ((allowed.low, allowed.low_closed, "Minimum"),
                                 (allowed.high, allowed.high_closed, "Maximum")):
            if isinstance(end, Literal) and end.value is not None:
                s.pop("exclusive" + key, None)
                s[key.lower() if closed else "exclusive" + key] = to_json(end.value)
    if f.label:
        s["title"] = f.label
    words = [f.description, _TYPE_SCHEMAS[f.type].get("description", "")]
    if " ".join(w for w in words if w):
        s["description"] = " — ".join(w for w in words if w)
    if nullable:  # null: the same as an absent fact
        if "enum" in s:
            s["enum"] = [*s["enum"], None]
        else:
            s["type"] = [*(s["type"] if isinstance(s["type"], list) else [s["type"]]), "null"]
    return s


_AS_OF_DATE = {"type": "string", "format": "date",
               "description": "the date the decision was made as of (YYYY-MM-DD)"}
_AS_OF_PARAM = {"name": AS_OF, "in": "query", "required": False,
                "schema": {"type": "string", "format": "date"},
                "description": "decide as of this date, YYYY-MM-DD (default: the case's as_of, else today in "
                               "the rule set's time zone); a rule tests it as the field as_of (適用日)"}


def _case_schema(book: Book, name: str) -> dict:
    plan = book.decisions[name]
    props = {f: value_schema(book.fields[f], nullable=True) for f in plan.inputs}
    if AS_OF in book.fields:  # every decision is made as of a date: a case may name it
        props.setdefault(AS_OF, value_schema(book.fields[AS_OF], nullable=True))
    props["decision"] = {"type": ["string", "null"], "description": "ignored here: the path names the decision"}
    return {"type": "object", "title": f"{name} case", "properties": props, "additionalProperties": False}


def _result_schema(book: Book, name: str) -> dict:
    plan = book.decisions[name]
    outputs = {f: value_schema(book.fields[f], nullable=True) for f in plan.outputs}
    return {"type": "object", "title": f"{name} result", "required": ["decision", "outputs", "fired"],
            "properties": {"decision": {"const": name}, "version": {"type": "string"}, "as_of": _AS_OF_DATE,
                           "outputs": {"type": "object", "properties": outputs,
                                       "required": list(plan.outputs), "additionalProperties": False},
                           "fired": {"type": "array", "items": {"$ref": "#/components/schemas/FiredRule"}}}}


def _examples(book: Book, name: str, limit: int = 5) -> dict:
    plan = book.decisions[name]
    out = {}
    for suite in book.tests:
        if suite.target != name:
            continue
        for case in suite.cases:
            if len(out) >= limit:
                return out
            value = {f: to_json(v) for f, v in case.inputs.items() if f in plan.inputs}
            out[f"test {case.id}"] = {"summary": f"Tests sheet, case {case.id}", "value": value}
    return out


def _json(schema: dict, examples: dict | None = None) -> dict:
    media = {"schema": schema}
    if examples:
        media["examples"] = examples
    return {"content": {"application/json": media}}


def _error(code: int) -> dict:
    return {"description": _ERRORS[code], **_json({"$ref": "#/components/schemas/Error"})}


def _responses(ok: dict, *errors: int) -> dict:
    return {"200": ok, **{str(c): _error(c) for c in errors}}


def openapi(book: Book, *, version: str = "", tokens: bool = False) -> dict:
    """The OpenAPI 3.1 document of the service over ``book``; ``tokens``: decision
    endpoints need a bearer token."""
    client = [{"bearer": []}] if tokens else [{}, {"bearer": []}]
    paths: dict[str, Any] = {}
    for name, plan in book.decisions.items():
        service = book.services.get(name)
        what = (service.description if service and service.description else
                f"{plan.kind} over the tables {', '.join(plan.tables)}")
        paths[f"/decide/{name}"] = {"post": {
            "operationId": f"decide_{name}", "summary": f"Decide {name}", "description": what,
            "tags": ["decisions"], "security": client, "parameters": [_AS_OF_PARAM],
            "requestBody": {"required": True, **_json({"$ref": f"#/components/schemas/{name}.case"},
                                                      _examples(book, name))},
            "responses": _responses({"description": "the decision's outputs and the rules that fired",
                                     **_json({"$ref": f"#/components/schemas/{name}.result"})},
                                    400, 401, 404, 413, 415, 421, 422)}}
    paths["/decide"] = {"post": {
        "operationId": "decide", "summary": "Decide the decision named in the body", "tags": ["decisions"],
        "security": client, "parameters": [_AS_OF_PARAM],
        "requestBody": {"required": True, **_json({"type": "object", "required": ["decision"],
                                                   "properties": {"decision": {"enum": sorted(book.decisions)}}})},
        "responses": _responses({"description": "the result", **_json({"$ref": "#/components/schemas/Result"})},
                                400, 401, 404, 413, 415, 421, 422)}}
    paths["/decisions"] = {"get": {
        "operationId": "decisions", "summary": "Every decision with its kind, inputs and outputs",
        "security": client, "responses": _responses({"description": "decisions by name", **_json(
            {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/DecisionInfo"}})},
            401, 421)}}
    paths["/health"] = {"get": {
        "operationId": "health", "summary": "Liveness, and the version each worker serves", "security": [{}],
        "responses": _responses({"description": "alive", **_json({"$ref": "#/components/schemas/Health"})}, 421)}}
    paths["/ready"] = {"get": {
        "operationId": "ready", "summary": "Readiness: 503 while the server shuts down", "security": [{}],
        "responses": _responses({"description": "ready", **_json(
            {"type": "object", "required": ["ready"], "properties": {"ready": {"const": True},
                                                                   "version": {"type": "string"}}})}, 421, 503)}}
    paths["/openapi.json"] = {"get": {
        "operationId": "openapi", "summary": "This document", "security": client,
        "responses": _responses({"description": "OpenAPI 3.1", **_json({"type": "object"})}, 401, 421)}}
    paths["/docs"] = {"get": {
        "operationId": "docs", "summary": "This contract as a page", "security": client,
        "responses": _responses({"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}},
                                401, 421)}}
    paths["/metrics"] = {"get": {
        "operationId": "metrics", "summary": "Prometheus metrics", "security": client,
        "responses": _responses({"description": "text exposition format",
                                 "content": {"text/plain": {"schema": {"type": "string"}}}}, 401, 404, 421)}}
    paths.update(_page_paths(book, client))
    paths["/reload"] = {"post": {
        "operationId": "reload", "summary": "Load the workbooks again (admin)", "tags": ["admin"],
        "security": [{"admin": []}],
        "responses": _responses({"description": "the new version", **_json({"$ref": "#/components/schemas/Health"})},
                                401, 403, 413, 415, 421, 422)}}
    schemas: dict[str, Any] = {}
    for name in book.decisions:
        schemas[f"{name}.case"] = _case_schema(book, name)
        schemas[f"{name}.result"] = _result_schema(book, name)
        schemas[f"{name}.why"] = _why_schema(book, name)
        schemas[f"{name}.why.result"] = _why_result_schema(book, name)
    schemas.update(_COMMON_SCHEMAS)
    return {
        "openapi": "3.1.0",
        "info": {"title": "decide", "version": version or "0",
                 "description": "Decisions from Excel decision tables. Every error is "
                                "{\"error\": {\"message\": ...}}."},
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer", "description": "a token of --token-file"},
            "admin": {"type": "http", "scheme": "bearer",
                      "description": "the admin token (--admin-token-file or $DECIDE_ADMIN_TOKEN)"}}},
    }


def _page_paths(book: Book, client: list) -> dict:
    """The support page (app/page.py): GET /, GET /form, POST /why/<decision>."""
    paths: dict[str, Any] = {
        "/": {"get": {
            "operationId": "page", "summary": "The support page", "tags": ["support"], "security": client,
            "responses": _responses({"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}},
                                    401, 421)}},
        "/form": {"get": {
            "operationId": "form", "summary": "The decisions and their fields, for the support page's form",
            "tags": ["support"], "security": client,
            "responses": _responses({"description": "the decisions with their inputs and outputs",
                                     **_json({"$ref": "#/components/schemas/Form"})}, 401, 421)}}}
    for name in book.decisions:
        paths[f"/why/{name}"] = {"post": {
            "operationId": f"why_{name}", "summary": f"Decide {name}, and what would change it",
            "description": "the outcome with the rules that fired and their annotations; with a non-empty "
                           "want, the fewest changes of the changeable facts that give it",
            "tags": ["support"], "security": client,
            "requestBody": {"required": True, **_json({"$ref": f"#/components/schemas/{name}.why"})},
            "responses": _responses({"description": "the outcome, and the answer to want (null without one)",
                                     **_json({"$ref": f"#/components/schemas/{name}.why.result"})},
                                    400, 401, 404, 413, 415, 421, 422)}}
    return paths


def _why_schema(book: Book, name: str) -> dict:
    plan = book.decisions[name]
    facts = {f: value_schema(book.fields[f], nullable=True) for f in plan.inputs}
    if AS_OF in book.fields:  # as in the case schema: every decision is made as of a date
        facts.setdefault(AS_OF, value_schema(book.fields[AS_OF], nullable=True))
    want = {f: _want_schema(book.fields[f]) for f in plan.outputs}
    return {"type": "object", "title": f"{name} question", "additionalProperties": False, "properties": {
        "facts": {"type": "object", "properties": facts, "additionalProperties": False},
        "want": {"type": ["object", "null"], "properties": want, "additionalProperties": False,
                 "description": "the outputs wanted; empty or null: only decide"}}}


def _want_schema(f: Field) -> dict:
    """A wanted output: a value of the field, or null (no rule gives it a value); in a
    list, an item may be null (a collected list holds null for a matched rule whose cell
    is empty). ``parse_want`` takes both."""
    s = value_schema(f, nullable=f.type is not Type.TEXT_LIST)
    if f.type is Type.TEXT_LIST:
        items = dict(s["items"])
        items["type"] = ["string", "null"]
        if "enum" in items:
            items["enum"] = [*items["enum"], None]
        s = {**s, "items": items}
    return s


def _why_result_schema(book: Book, name: str) -> dict:
    outputs = _result_schema(book, name)["properties"]["outputs"]
    return {"type": "object", "title": f"{name} outcome", "required": ["decision", "outputs", "fired", "why"],
            "properties": {"decision": {"const": name}, "outputs": outputs,
                           "fired": {"type": "array", "items": {"$ref": "#/components/schemas/PageRule"}},
                           "why": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Why"}]}}}


_RULE = {"table": {"type": "string"}, "rule": {"type": "string"}, "workbook": {"type": "string"},
         "sheet": {"type": "string"}, "row": {"type": "integer"},
         "annotations": {"type": "object", "additionalProperties": {"type": "string"}}}
_FIELD = {"type": "object", "required": ["field", "label", "type", "description", "changeable"], "properties": {
    "field": {"type": "string"}, "label": {"type": "string"}, "type": {"type": "string"},
    "description": {"type": "string"}, "changeable": {"type": "string"}, "choices": {"type": "array"},
    "min": {}, "max": {}}}

_COMMON_SCHEMAS = {
    "Form": {"type": "object", "required": ["decisions"], "properties": {"decisions": {"type": "array", "items": {
        "type": "object", "required": ["name", "description", "inputs", "outputs"], "properties": {
            "name": {"type": "string"}, "description": {"type": "string"},
            "inputs": {"type": "array", "items": _FIELD}, "outputs": {"type": "array", "items": _FIELD}}}}}},
    "PageRule": {"type": "object", "required": ["table", "rule", "workbook", "sheet", "row", "outputs", "annotations"],
                 "properties": {**_RULE, "outputs": {"type": "string"}}},
    "Why": {"type": "object", "required": ["decision", "want", "now", "options", "impossible", "complete",
                                           "changeable", "notes"], "properties": {
        "decision": {"type": "string"}, "want": {"type": "object"}, "now": {"type": "object"},
        "options": {"type": "array", "items": {"type": "object", "required": ["changes", "fires", "outputs"],
                                               "properties": {
            "changes": {"type": "array", "items": {"type": "object", "required": ["field", "from", "to", "range"],
                                                   "properties": {"field": {"type": "string"}, "from": {}, "to": {},
                                                                  "range": {"type": ["string", "null"]}}}},
            "fires": {"type": "array", "items": {"type": "object", "properties": _RULE}},
            "outputs": {"type": "object"}}}},
        "impossible": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["reason"], "properties": {
            "reason": {"type": "string"},
            "rule": {"oneOf": [{"type": "null"}, {"type": "object", "properties": _RULE}]}}}]},
        "complete": {"type": "boolean"}, "changeable": {"type": "object", "additionalProperties": {"type": "string"}},
        "notes": {"type": "array", "items": {"type": "string"}}}},

    "Error": {"type": "object", "required": ["error"], "properties": {"error": {
        "type": "object", "required": ["message"], "properties": {
            "message": {"type": "string"}, "error": {"enum": ["case", "evaluation", "workbook"]},
            "field": {"type": "string"}, "table": {"type": "string"},
            "rules": {"type": "array"}, "diagnostics": {"type": "array"},
            "decisions": {"type": "array", "items": {"type": "string"}}}}}},
    "FiredRule": {"type": "object", "required": ["table", "rule", "workbook", "sheet", "row"], "properties": {
        "table": {"type": "string"}, "rule": {"type": "string"}, "workbook": {"type": "string"},
        "sheet": {"type": "string"}, "row": {"type": "integer"}}},
    "Result": {"type": "object", "required": ["decision", "outputs", "fired"], "properties": {
        "decision": {"type": "string"}, "version": {"type": "string"}, "as_of": _AS_OF_DATE,
        "outputs": {"type": "object"},
        "fired": {"type": "array", "items": {"$ref": "#/components/schemas/FiredRule"}}}},
    "DecisionInfo": {"type": "object", "required": ["kind", "inputs", "outputs"], "properties": {
        "kind": {"enum": ["service", "table"]}, "inputs": {"type": "array", "items": {"type": "string"}},
        "outputs": {"type": "array", "items": {"type": "string"}}}},
    "Health": {"type": "object", "required": ["status", "engine", "version", "loaded_at"], "properties": {
        "status": {"enum": ["ok", "degraded"]}, "engine": {"type": "string"}, "tables": {"type": "integer"},
        "decisions": {"type": "integer"}, "loaded_at": {"type": "string"}, "version": {"type": "string"},
        "pid": {"type": "integer"}, "generation": {"type": "integer"},
        "watch": {"type": "object", "properties": {
            "status": {"enum": ["ok", "pending", "failing"]}, "differs_since": {"type": ["string", "null"]},
            "last_error": {"type": ["string", "null"]}, "last_error_at": {"type": ["string", "null"]}}},
        "reload": {"type": "object", "properties": {
            "status": {"enum": ["ok", "failing"]}, "last_error": {"type": ["string", "null"]},
            "last_error_at": {"type": ["string", "null"]}}},
        "follow_error": {"type": ["string", "null"]},
        "workers": {"type": "object", "additionalProperties": {"type": "object"}}}},
}


def docs_html(doc: dict) -> str:
    """A page that renders the contract without scripts: each decision with its inputs
    (label, type, allowed values, description) and outputs."""
    from html import escape as e

    def kind(s: dict) -> str:
        if "enum" in s:
            return "one of " + ", ".join(e(str(v)) for v in s["enum"] if v is not None)
        t = s.get("type", "")
        t = next((x for x in t if x != "null"), "") if isinstance(t, list) else t
        return e(s.get("format", t))

    schemas = doc["components"]["schemas"]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(doc['info']['title'])} API</title>"
             "<style>body{font-family:sans-serif;max-width:60em;margin:auto}td,th{border-bottom:1px solid #ddd;"
             "padding:.2em .5em;text-align:left;vertical-align:top}</style></head><body>",
             f"<h1>{e(doc['info']['title'])} — decisions</h1><p>{e(doc['info']['description'])} "
             "The machine-readable contract: <a href='/openapi.json'>/openapi.json</a>.</p>"]
    for path, ops in doc["paths"].items():
        if not path.startswith("/decide/"):
            continue
        op = ops["post"]
        name = path.removeprefix("/decide/")
        parts.append(f"<h2 id='{e(name)}'>POST {e(path)}</h2><p>{e(op.get('description', ''))}</p>"
                     "<table><tr><th>input</th><th>label</th><th>type</th><th>description</th></tr>")
        for field, s in schemas[f"{name}.case"]["properties"].items():
            if field != "decision":
                parts.append(f"<tr><td><code>{e(field)}</code></td><td>{e(s.get('title', ''))}</td>"
                             f"<td>{kind(s)}</td><td>{e(s.get('description', ''))}</td></tr>")
        outs = schemas[f"{name}.result"]["properties"]["outputs"]["properties"]
        parts.append("</table><p>outputs: " + ", ".join(f"<code>{e(f)}</code> ({kind(s)})" for f, s in outs.items())
                     + "</p>")
    parts.append("</body></html>")
    return "".join(parts)
