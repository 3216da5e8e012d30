"""The support page that ``decide serve`` shows at ``/``: pick a decision, fill a form
generated from the Glossary, read the outcome, the rules that fired with their
annotations, and what would change it.

    GET  /                   the page (one self-contained HTML document: no build step,
                             no external assets, usable offline)
    GET  /form               the decisions and their fields, from the Glossary (JSON)
    POST /why/<decision>     body {"facts": {...}, "want": {...}} → {"decision", "outputs",
                             "fired": [rules with annotations], "why": the answer of
                             decide.tools.why, or null without a want}

``respond(book, method, path, body)`` answers these three routes as (status, content
type, bytes); the HTTP service (``http.py``) hands them over.  Facts are checked by the
browser (input types, ranges, allowed values) and again here (the Glossary's types and
allowed values): a bad fact is a 400 naming the field.
"""
from __future__ import annotations

from typing import Optional

from decide.app import casejson
from decide.model.errors import CaseError, EvaluationError, did_you_mean
from decide.model.ir import RangeTest
from decide.model.values import to_json

ROUTES = ("/", "/form")


def handles(path: str) -> bool:
    return path in ROUTES or path.startswith("/why/")


def _json(status: int, body) -> tuple[int, str, bytes]:
    return status, "application/json; charset=utf-8", casejson.dumps(body, pretty=False).encode("utf-8")


def _error(status: int, message: str, **extra) -> tuple[int, str, bytes]:
    return _json(status, {"error": {"message": message, **extra}})


def form(book) -> dict:
    """Every decision service (else every table) with its inputs and outputs as the
    Glossary declares them: label, type, allowed values, description, changeable."""
    ir = book.ir

    def field(name: str) -> dict:
        f = ir.fields[name]
        d = {"field": name, "label": f.label, "type": f.type.value, "description": f.description,
             "changeable": f.changeable or "no"}
        if isinstance(f.allowed, tuple):
            d["choices"] = [to_json(v) for v in f.allowed]
        elif isinstance(f.allowed, RangeTest):
            d["min"] = to_json(f.allowed.low.value)
            d["max"] = to_json(f.allowed.high.value)
        return d

    plans = [p for p in ir.decisions.values() if p.kind == "service"] or list(ir.decisions.values())
    out = []
    for p in plans:
        service = ir.services.get(p.name)
        out.append({"name": p.name, "description": service.description if service else "",
                    "inputs": [field(f) for f in p.inputs], "outputs": [field(f) for f in p.outputs]})
    return {"decisions": out}


def _fired(book, result) -> list[dict]:
    ir = book.ir
    out = []
    for fr in result.fired:
        t = ir.tables[fr.table]
        rule = t.rules[fr.index]
        out.append({**fr.to_dict(),
                    "outputs": ", ".join(f"{c.field} = {o.text or 'null'}" for c, o in zip(t.outputs, rule.outputs)),
                    "annotations": {h: a for h, a in zip(t.annotations, rule.annotations) if a}})
    return out


def why(book, name: str, body: bytes) -> tuple[int, str, bytes]:
    from decide.tools.why import counterfactuals
    try:
        req = casejson.parse(body or b"{}", noun="body")
    except casejson.CaseJSONError as e:
        return _error(400, str(e))
    facts, want = req.get("facts", {}), req.get("want") or {}
    if not isinstance(facts, dict) or not isinstance(want, dict) or set(req) - {"facts", "want"}:
        return _error(400, 'the body is {"facts": {field: value}, "want": {field: value}}')
    if name not in book.decisions:
        return _error(404, f'unknown decision "{name}"{did_you_mean(name, book.decisions)}',
                      decisions=sorted(book.decisions))
    try:
        result = book.decide(name, facts)
        answer = counterfactuals(book, name, facts, want).to_dict() if want else None
    except CaseError as e:
        return _json(400, {"error": e.to_dict()})
    except EvaluationError as e:
        return _json(422, {"error": e.to_dict()})
    return _json(200, {"decision": name, "outputs": result.to_dict()["outputs"],
                       "fired": _fired(book, result), "why": answer})


def respond(book, method: str, path: str, body: bytes = b"") -> Optional[tuple[int, str, bytes]]:
    """The response to one of the page's routes, or None for a path that is not one."""
    if not handles(path):
        return None
    if path.startswith("/why/"):
        if method != "POST":
            return _error(405, "use POST")
        return why(book, path[len("/why/"):], body)
    if method != "GET":
        return _error(405, "use GET")
    if path == "/form":
        return _json(200, form(book))
    return 200, "text/html; charset=utf-8", PAGE.encode("utf-8")


PAGE = """<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>decide — サポート (support)</title>
<style>
  :root { --ink: #1d2433; --muted: #5b6475; --line: #d5d9e2; --accent: #1f5fbf; --bad: #b3261e; --ok: #1e7a3c; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 15px/1.5 system-ui, "Hiragino Sans", "Noto Sans JP", sans-serif; color: var(--ink); background: #f6f7fa; }
  header { background: var(--ink); color: #fff; padding: .8rem 1.2rem; }
  header h1 { font-size: 1.15rem; margin: 0; }
  main { max-width: 72rem; margin: 0 auto; padding: 1rem; display: grid; gap: 1rem; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
  @media (max-width: 60rem) { main { grid-template-columns: 1fr; } }
  section, form { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 1rem; }
  h2 { font-size: 1.05rem; margin: 0 0 .6rem; }
  h3 { font-size: .95rem; margin: 1rem 0 .4rem; }
  fieldset { border: 1px solid var(--line); border-radius: 6px; margin: .6rem 0; padding: .5rem .8rem; }
  legend { font-weight: 600; padding: 0 .3rem; }
  .row { display: grid; grid-template-columns: minmax(7rem, 14rem) minmax(0, 1fr); gap: .2rem .6rem; align-items: center; margin: .3rem 0; }
  .row > * { min-width: 0; }
  .row label { font-size: .9rem; overflow-wrap: anywhere; }
  .row small { grid-column: 2; color: var(--muted); font-size: .78rem; overflow-wrap: anywhere; }
  .row .err { grid-column: 2; color: var(--bad); font-size: .82rem; }
  input, select { font: inherit; padding: .25rem .4rem; border: 1px solid #9aa3b5; border-radius: 4px; width: 100%; }
  input:focus, select:focus, button:focus { outline: 3px solid #8db4f2; outline-offset: 1px; }
  [aria-invalid="true"] { border-color: var(--bad); }
  button { font: inherit; background: var(--accent); color: #fff; border: 0; border-radius: 5px; padding: .45rem 1rem; cursor: pointer; }
  button.secondary { background: #fff; color: var(--accent); border: 1px solid var(--accent); }
  dl.outputs { display: grid; grid-template-columns: 12rem 1fr; gap: .3rem .8rem; margin: 0; }
  dl.outputs dt { color: var(--muted); }
  dl.outputs dd { margin: 0; font-weight: 600; }
  ul.list { margin: .2rem 0; padding-left: 1.2rem; }
  .rule { border-left: 3px solid var(--line); padding: .2rem .6rem; margin: .4rem 0; font-size: .88rem; }
  .rule .where { color: var(--muted); font-size: .8rem; }
  .option { border: 1px solid var(--line); border-radius: 6px; padding: .5rem .8rem; margin: .5rem 0; }
  .option table { border-collapse: collapse; width: 100%; font-size: .9rem; }
  .option th, .option td { text-align: left; padding: .2rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
  .impossible { color: var(--bad); }
  .note { color: var(--muted); font-size: .82rem; }
  #error { color: var(--bad); font-weight: 600; }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
</style>
</head>
<body>
<header><h1>decide — サポート窓口 (support desk)</h1></header>
<main>
  <form id="case-form" novalidate>
    <h2>ケース (case)</h2>
    <div class="row">
      <label for="decision">判定 (decision)</label>
      <select id="decision" name="decision"></select>
      <small id="decision-desc"></small>
    </div>
    <fieldset id="facts"><legend>事実 (facts)</legend></fieldset>
    <p class="note">空欄の項目はケースに含めません (a blank field is left out of the case).</p>
    <button type="submit" id="decide">判定する (decide)</button>
    <p id="error" role="alert"></p>
  </form>
  <div>
    <section id="result" aria-live="polite" aria-labelledby="result-h">
      <h2 id="result-h">結果 (outcome)</h2>
      <p class="note" id="result-empty">まだ判定していません (nothing decided yet).</p>
      <dl class="outputs" id="outputs"></dl>
    </section>
    <section id="why-section" aria-labelledby="why-h" style="margin-top:1rem">
      <h2 id="why-h">何を変えれば変わるか (what would change it)</h2>
      <fieldset id="wants"><legend>望む結果 (wanted outcome)</legend></fieldset>
      <button type="button" id="why-button" class="secondary">調べる (find the changes)</button>
      <div id="why" aria-live="polite"></div>
    </section>
    <section id="rules" aria-labelledby="rules-h" style="margin-top:1rem">
      <h2 id="rules-h">適用されたルール (rules that fired)</h2>
      <div id="fired"></div>
    </section>
  </div>
</main>
<script>
"use strict";
let FORM = null;
const $ = (id) => document.getElementById(id);
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") e.textContent = v; else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) if (k) e.append(k);
  return e;
}
function show(v) {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return v.length ? v.map(show).join(", ") : "[]";
  if (typeof v === "string") return "\\"" + v + "\\"";
  return String(v);
}
function labelOf(f) { return f.label && f.label !== f.field ? f.label + " (" + f.field + ")" : f.field; }
function decision() { return FORM.decisions.find((d) => d.name === $("decision").value); }

function inputFor(f) {
  const id = "f-" + f.field;
  if (f.type === "boolean" || f.choices) {
    const s = el("select", {id, name: f.field, "aria-describedby": "d-" + f.field});
    s.append(el("option", {value: "", text: "—"}));
    for (const c of (f.type === "boolean" ? [true, false] : f.choices))
      s.append(el("option", {value: JSON.stringify(c), text: String(c)}));
    return s;
  }
  const a = {id, name: f.field, "aria-describedby": "d-" + f.field};
  if (f.type === "integer") Object.assign(a, {type: "number", step: "1", inputmode: "numeric"});
  else if (f.type === "number") Object.assign(a, {type: "number", step: "any"});
  else if (f.type === "date") a.type = "date";
  else if (f.type === "version") Object.assign(a, {type: "text", pattern: "\\\\d+(\\\\.\\\\d+)*", placeholder: "6.7.0"});
  else a.type = "text";
  if (f.min !== undefined) a.min = f.min;
  if (f.max !== undefined) a.max = f.max;
  return el("input", a);
}

function buildForm() {
  const d = decision();
  $("decision-desc").textContent = d.description || "";
  const box = $("facts");
  box.replaceChildren(el("legend", {text: "事実 (facts)"}));
  for (const f of d.inputs) {
    const hint = [f.type, f.changeable !== "no" ? "changeable: " + f.changeable : ""].filter(Boolean).join(" · ");
    box.append(el("div", {class: "row"},
      el("label", {for: "f-" + f.field, text: labelOf(f)}), inputFor(f),
      el("small", {id: "d-" + f.field, text: hint + (f.description ? " — " + f.description : "")}),
      el("span", {class: "err", id: "e-" + f.field, role: "status"})));
  }
  const wants = $("wants");
  wants.replaceChildren(el("legend", {text: "望む結果 (wanted outcome)"}));
  for (const f of d.outputs) {
    let values = null;
    if (f.type === "boolean") values = [true, false];
    else if (f.type === "text list" && f.choices) values = [[]].concat(f.choices.map((c) => [c]));
    else if (f.choices) values = f.choices;
    if (!values) continue;
    const s = el("select", {id: "want-" + f.field, name: f.field});
    s.append(el("option", {value: "", text: "— (どれでもよい / any)"}));
    for (const v of values) s.append(el("option", {value: JSON.stringify(v), text: show(v)}));
    wants.append(el("div", {class: "row"}, el("label", {for: "want-" + f.field, text: labelOf(f)}), s));
  }
  $("outputs").replaceChildren(); $("fired").replaceChildren(); $("why").replaceChildren();
  $("result-empty").hidden = false;
}

function facts() {
  const out = {};
  for (const f of decision().inputs) {
    const e = $("f-" + f.field);
    e.removeAttribute("aria-invalid"); $("e-" + f.field).textContent = "";
    if (e.value === "") continue;
    if (e.tagName === "SELECT") out[f.field] = JSON.parse(e.value);
    else if (f.type === "integer") out[f.field] = parseInt(e.value, 10);
    else if (f.type === "number") out[f.field] = Number(e.value);
    else if (f.type === "text list") out[f.field] = e.value.split(",").map((x) => x.trim()).filter(Boolean);
    else out[f.field] = e.value;
  }
  return out;
}

function wants() {
  const out = {};
  for (const s of $("wants").querySelectorAll("select")) if (s.value !== "") out[s.name] = JSON.parse(s.value);
  return out;
}

function invalid(field, message) {
  const e = $("f-" + field);
  if (e) { e.setAttribute("aria-invalid", "true"); $("e-" + field).textContent = message; e.focus(); }
}

async function post(want) {
  $("error").textContent = "";
  const form = $("case-form");
  for (const e of form.querySelectorAll("input")) {
    if (!e.checkValidity()) { invalid(e.name, e.validationMessage); $("error").textContent = e.validationMessage; return null; }
  }
  const body = JSON.stringify({facts: facts(), want});
  const r = await fetch("why/" + encodeURIComponent(decision().name), {method: "POST", body,
                        headers: {"Content-Type": "application/json"}});
  const data = await r.json();
  if (!r.ok) {
    const err = data.error || {};
    $("error").textContent = err.message || ("error " + r.status);
    if (err.field) invalid(err.field, err.message);
    return null;
  }
  return data;
}

function ruleBlock(r) {
  const notes = Object.entries(r.annotations || {}).map(([h, a]) => el("div", {text: h + ": " + a}));
  return el("div", {class: "rule"},
    el("div", {text: "rule " + r.rule + " of " + r.table + (r.outputs ? " → " + r.outputs : "")}),
    el("div", {class: "where", text: r.workbook + " › " + r.sheet + " › row " + r.row}), ...notes);
}

function showOutcome(data) {
  $("result-empty").hidden = true;
  const d = decision(), dl = $("outputs");
  dl.replaceChildren();
  for (const f of d.outputs) {
    const v = data.outputs[f.field];
    const dd = el("dd", {id: "out-" + f.field});
    if (Array.isArray(v) && v.length > 1) dd.append(el("ul", {class: "list"}, ...v.map((x) => el("li", {text: String(x)}))));
    else dd.textContent = Array.isArray(v) ? (v.length ? String(v[0]) : "—") : (v === null ? "—" : String(v));
    dl.append(el("dt", {text: labelOf(f)}), dd);
  }
  $("fired").replaceChildren(...data.fired.map(ruleBlock));
}

function showWhy(ans) {
  const box = $("why");
  box.replaceChildren();
  if (!ans) return;
  const labels = Object.fromEntries(decision().inputs.map((f) => [f.field, labelOf(f)]));
  if (ans.impossible) {
    box.append(el("p", {class: "impossible", id: "why-impossible", text: "できません (impossible): " + ans.impossible.reason}));
    if (ans.impossible.rule) box.append(ruleBlock(ans.impossible.rule));
  }
  ans.options.forEach((o, i) => {
    if (!o.changes.length) { box.append(el("p", {id: "why-option-1", text: "すでにそうなっています (already so: nothing to change)."})); return; }
    const rows = o.changes.map((c) => el("tr", {},
      el("th", {scope: "row", text: labels[c.field] || c.field}), el("td", {text: show(c.from)}),
      el("td", {text: show(c.to)}), el("td", {text: c.range || ""})));
    const table = el("table", {},
      el("caption", {class: "sr-only", text: "changes of option " + (i + 1)}),
      el("thead", {}, el("tr", {}, ...["項目 (fact)", "今 (now)", "変更後 (to)", "範囲 (works for)"].map((h) => el("th", {scope: "col", text: h})))),
      el("tbody", {}, ...rows));
    box.append(el("div", {class: "option", id: "why-option-" + (i + 1)},
      el("h3", {text: "案 " + (i + 1) + " (option " + (i + 1) + "): " + o.changes.length + " 件の変更 (changes)"}),
      table, o.fires.length ? el("h3", {text: "そのとき適用されるルール (then these rules fire)"}) : null,
      ...o.fires.map(ruleBlock)));
  });
  if (!ans.options.length && !ans.impossible) box.append(el("p", {text: "見つかりませんでした (no option found)."}));
  for (const n of ans.notes || []) box.append(el("p", {class: "note", text: n}));
}

async function decideNow(ev) {
  if (ev) ev.preventDefault();
  const data = await post({});
  if (data) { showOutcome(data); $("why").replaceChildren(); }
}

async function whyNow() {
  const w = wants();
  if (!Object.keys(w).length) { $("error").textContent = "望む結果を選んでください (pick a wanted outcome)."; $("wants").querySelector("select").focus(); return; }
  const data = await post(w);
  if (data) { showOutcome(data); showWhy(data.why); }
}

async function start() {
  FORM = await (await fetch("form")).json();
  const s = $("decision");
  for (const d of FORM.decisions) s.append(el("option", {value: d.name, text: d.name}));
  s.addEventListener("change", buildForm);
  $("case-form").addEventListener("submit", decideNow);
  $("why-button").addEventListener("click", whyNow);
  buildForm();
  document.body.dataset.ready = "1";
}
start();
</script>
</body>
</html>
"""
