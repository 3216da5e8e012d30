"""Raw sheets → IR.  Every cell is parsed and typed here; every problem becomes a
Diagnostic (and the broken cell is left out of the IR, so later stages never see
it).  Cross-table checks (producers, cycles, test targets) are in ``checks.py``."""
from __future__ import annotations

import datetime as _dt
import re
from dataclasses import replace
from typing import Any, Mapping

from openpyxl.utils import get_column_letter

from decide.model.errors import Diagnostic, did_you_mean
from decide.model.ir import (
    AnyTest, Field, HitPolicy, InputColumn, InputEntry, Invariant, InvariantSuite,
    Literal, Loc, Name, OrTests, OutputColumn, OutputEntry, RangeTest, Rule, Table, TestCase,
    TestSuite, Type, CompareTest,
)
from decide.compile.hints import cell_hint
from decide.compile.reader import RawSheet
from decide.compile.resolve import ResolveError, coerce_literal, infer_type, resolve_expr, resolve_test
from decide.compile.sfeel import SFeelError, parse_expression, parse_literal, parse_unary_tests
from decide.model.values import describe_allowed, in_allowed, show, to_decimal

FIELD_RE = re.compile(r"^[a-z][a-z0-9_]*$")
TABLE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
TYPES = {t.value: t for t in Type}
HIT_POLICY_LABELS = ("hitpolicy", "ヒットポリシー")  # A2 of a table, spaces removed, lower case

class Collector:
    """Collects diagnostics; never stops at the first."""

    def __init__(self):
        self.items: list[Diagnostic] = []
        #: a Glossary sheet could not be read (its header is wrong): every other sheet reads
        #: its fields, so the loader stops at its one error rather than one per field named
        self.glossary_broken = False

    def error(self, code: str, loc: Loc, message: str, related: Loc | None = None):
        self.items.append(Diagnostic(code, "error", loc, message, related))

    def warning(self, code: str, loc: Loc, message: str, related: Loc | None = None):
        self.items.append(Diagnostic(code, "warning", loc, message, related))


def _cell_text(value: Any) -> str:
    """The text a cell shows, for messages and explanations."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, _dt.datetime):
        return value.date().isoformat()
    return str(value).strip()


def _excel_value(value: Any):
    """A non-text Excel cell value as a typed literal (float → Decimal, datetime → date)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        d = to_decimal(value)
        return int(d) if d == d.to_integral_value() else d
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, _dt.time):
        raise ResolveError("a time of day is not a value this engine understands")
    return value


EXCEL_ERRORS = {
    "#VALUE!": "a value of the wrong type in the formula", "#REF!": "it refers to a deleted cell",
    "#N/A": "a lookup found nothing", "#DIV/0!": "a division by zero",
    "#NAME?": "an unknown function or name", "#NUM!": "an impossible number",
    "#NULL!": "ranges that do not meet", "#SPILL!": "no room for its results",
}


def excel_error(c: Collector, loc: Loc, value: str) -> None:
    why = EXCEL_ERRORS.get(value.strip().upper())
    c.error("E106", loc, f"this cell shows the Excel error {value.strip()}: its formula fails"
            f"{f' ({why})' if why else ''}; fix the formula, or type the value")


def _formula_error(c: Collector, sheet: RawSheet, row: int, col: int) -> bool:
    if (row, col) in sheet.error_values:
        excel_error(c, sheet.loc(row, col), sheet.error_values[(row, col)])
        return True
    if (row, col) in sheet.uncached_formulas:
        c.error("E101", sheet.loc(row, col),
                "this formula has no saved value (the workbook was saved by a program that does "
                "not compute formulas): open and save it in Excel, or type the value")
        return True
    return False


# --------------------------------------------------------------------------- blocks of rows
def _row_empty(sh: RawSheet, row: int, cols=None) -> bool:
    cols = range(1, sh.max_col + 1) if cols is None else cols
    return all((row, col) not in sh.cells and (row, col) not in sh.uncached_formulas for col in cols)


def block_rows(sh: RawSheet, first: int, c: Collector, what: str, cols=None):
    """The rows of a block (rules, cases, properties, fields) from ``first`` to its first
    empty row.  Something below that empty row is one error (E134) naming the row and the
    fix: a blank row inserted among the rules would otherwise drop every rule below it."""
    row = first
    while row <= sh.max_row and not _row_empty(sh, row, cols):
        yield row
        row += 1
    more = next((r for r in range(row + 1, sh.max_row + 1) if not _row_empty(sh, r, cols)), None)
    if more is not None:
        c.error("E134", sh.loc(row), f"row {row} is empty, but {what} go on at row {more}: {what} end "
                f"at the first empty row, so row {more} and below would be left out; delete the empty "
                "row (keep notes on another sheet, or in an ANNOTATION column)")


# --------------------------------------------------------------------------- glossary
CHANGEABLE = ("yes", "no", "up", "down")


def _changeable(sh: RawSheet, row: int, col: int | None, name: str, c: Collector) -> str | None:
    if col is None or sh.get(row, col) is None:
        return None
    raw = sh.get(row, col)
    text = _cell_text(raw).lower()
    if text in CHANGEABLE:
        return text
    c.error("E116", sh.loc(row, col), f'"{_cell_text(raw)}" is not a Changeable value for {name}: write yes, '
            "no, up (may only increase, e.g. months of use) or down (may only decrease), or leave it "
            "blank (= no)")
    return None


GLOSSARY_COLUMNS = ("field", "type", "allowed values", "label", "description", "changeable")


def _glossary_columns(sh: RawSheet, c: Collector) -> dict[str, int] | None:
    """Row 2's headers → their columns (found by name, so an inserted column moves nothing).
    A header that is not a Glossary column, or values under no header, is one error at the
    header; no Field or Type header: one error, and the sheet is not read."""
    cols: dict[str, int] = {}
    for col in range(1, sh.max_col + 1):
        text = re.sub(r"\s+", " ", sh.text(2, col).lower())
        if text in GLOSSARY_COLUMNS and text not in cols:
            cols[text] = col
        elif text:
            c.error("E117", sh.loc(2, col), f'"{sh.text(2, col)}" is not a Glossary column'
                    f"{did_you_mean(text, GLOSSARY_COLUMNS)}: the columns are Field, Type, Allowed "
                    "values, Label, Description and Changeable; delete this column or rename it")
        elif any((r, col) in sh.cells for r in range(3, sh.max_row + 1)):
            c.error("E117", sh.loc(2, col), "this column has values but no header in row 2: write "
                    "Allowed values, Label, Description or Changeable there, or delete the column")
    if "field" not in cols or "type" not in cols:
        c.error("E114", sh.loc(2, 1), "the Glossary header (row 2) must be: "
                "Field | Type | Allowed values | Label | Description")
        c.glossary_broken = True
        return None
    return cols


def build_glossary(sheets: list[RawSheet], c: Collector) -> dict[str, Field]:
    fields: dict[str, Field] = {}
    label_locs: dict[str, Loc] = {}
    for sh in sheets:
        cols = _glossary_columns(sh, c)
        if cols is None:
            continue
        used = sorted(cols.values())
        for row in block_rows(sh, 3, c, "the Glossary's fields", used):
            f = _glossary_row(sh, row, cols, c)
            if f is not None:
                f = replace(f, changeable=_changeable(sh, row, cols.get("changeable"), f.name, c))
                prev = fields.get(f.name)
                if prev is None:
                    fields[f.name] = f
                    label_locs[f.name] = sh.loc(row, cols.get("label", cols["field"]))
                elif (prev.type, prev.allowed, prev.label) != (f.type, f.allowed, f.label) or \
                        None not in (prev.changeable, f.changeable) and prev.changeable != f.changeable:
                    c.error("E113", f.loc, f'field "{f.name}" is declared again, differently '
                            f"(first declared at {prev.loc}): declare it once, or identically",
                            related=prev.loc)
                elif prev.changeable is None and f.changeable is not None:
                    fields[f.name] = replace(prev, changeable=f.changeable)
    by_label: dict[str, Field] = {}
    for f in fields.values():
        other = by_label.get(f.label)
        if other is not None and f.label != f.name:
            c.error("E115", label_locs[f.name], f'the label "{f.label}" is used by both '
                    f'"{other.name}" ({other.loc}) and "{f.name}": a header naming it could mean either; '
                    "give each field its own label", related=other.loc)
        by_label.setdefault(f.label, f)
    return fields


def _glossary_row(sh: RawSheet, row: int, cols: dict[str, int], c: Collector) -> Field | None:
    for key in GLOSSARY_COLUMNS[:5]:
        if key in cols and _formula_error(c, sh, row, cols[key]):
            return None
    fcol, tcol = cols["field"], cols["type"]
    name = sh.text(row, fcol)
    loc = sh.loc(row, fcol)
    if not FIELD_RE.match(name):
        c.error("E110", loc, f'"{name}" is not a valid field name: use lower-case letters, digits '
                "and _ starting with a letter, e.g. amount_yen")
        return None
    tname = re.sub(r"\s+", " ", sh.text(row, tcol).lower())
    type_ = TYPES.get(tname)
    if type_ is None:
        c.error("E111", sh.loc(row, tcol), f'"{sh.text(row, tcol)}" is not a type{did_you_mean(tname, TYPES)}; '
                "types: " + ", ".join(TYPES))
        return None
    allowed = None
    raw = sh.get(row, cols["allowed values"]) if "allowed values" in cols else None
    if raw is not None:
        try:
            allowed = _parse_allowed(raw, type_)
        except (SFeelError, ResolveError) as e:
            c.error("E112", sh.loc(row, cols["allowed values"]), f"allowed values of {name}: {e}")
            return None
    label = (sh.text(row, cols["label"]) if "label" in cols else "") or name
    description = sh.text(row, cols["description"]) if "description" in cols else ""
    return Field(name, type_, allowed, label, description, loc)


def _parse_allowed(raw, type_: Type):
    if not isinstance(raw, str):
        return (coerce_literal(_excel_value(raw), type_, "the field"),)
    test = parse_unary_tests(raw)
    tests = test.tests if isinstance(test, OrTests) else (test,)
    if len(tests) == 1 and isinstance(tests[0], RangeTest):
        t = tests[0]
        if not (isinstance(t.low, Literal) and isinstance(t.high, Literal)):
            raise ResolveError("a range of allowed values needs two numbers, e.g. [0..1000000]")
        lo = coerce_literal(t.low.value, type_, "the field")
        hi = coerce_literal(t.high.value, type_, "the field")
        if lo > hi:
            raise ResolveError("the range is empty: write [low..high]")
        return RangeTest(Literal(lo), Literal(hi), t.low_closed, t.high_closed)
    values = []
    for t in tests:
        if isinstance(t, CompareTest) and t.op == "=":
            v = t.value
            if isinstance(v, Name) and type_.item is Type.TEXT:
                v = Literal(v.name)  # a bare word in the allowed list is the word itself
            if isinstance(v, Literal):
                values.append(coerce_literal(v.value, type_, "the field"))
                continue
        raise ResolveError('write a list of values ("a","b") or a range ([0..100])')
    if len(set(values)) != len(values):
        raise ResolveError("a value is listed twice")
    return tuple(values)


# --------------------------------------------------------------------------- decision tables
def _field_by_header(text: str, fields: Mapping[str, Field]) -> Field | None:
    if text in fields:
        return fields[text]
    for f in fields.values():
        if f.label == text:
            return f
    return None


def build_table(sh: RawSheet, fields: Mapping[str, Field], c: Collector) -> Table | None:
    start = len(c.items)
    name = sh.text(1, 2)
    if not name:
        c.error("E120", sh.loc(1, 2), "the table has no name: write it in B1, e.g. PurchaseRestriction")
    elif not TABLE_RE.match(name):
        c.error("E121", sh.loc(1, 2), f'"{name}" is not a valid table name: letters, digits and _, '
                "starting with a letter, e.g. PurchaseRestriction")
    # hit policy
    policy = agg = None
    hp_label = re.sub(r"\s+", "", sh.text(2, 1).lower())
    hp = re.sub(r"\s+", " ", sh.text(2, 2).upper())
    spellings = HitPolicy.spellings()  # the registered policies, as they may be written
    if hp_label not in HIT_POLICY_LABELS:
        c.error("E122", sh.loc(2, 1), 'row 2 must be "Hit policy" with the policy in B2; policies: '
                + HitPolicy.listing())
    elif not hp:
        c.error("E122", sh.loc(2, 2), "the hit policy is missing: write one of " + HitPolicy.listing())
    elif hp not in spellings:
        c.error("E123", sh.loc(2, 2), f'"{sh.text(2, 2)}" is not a hit policy'
                f"{did_you_mean(hp, spellings)}; policies: {HitPolicy.listing()}")
    else:
        policy, agg = spellings[hp]
    description = sh.text(3, 2) if sh.text(3, 1).lower() == "description" else ""
    # header block
    header_row = next((r for r in range(2, sh.max_row + 1) if sh.text(r, 1).lower() == "rule"), None)
    if header_row is None:
        c.error("E124", sh.loc(), 'no header row: write "Rule" in column A of the row that marks '
                "each column INPUT, OUTPUT or ANNOTATION")
        return None
    last_col = max((col for (r, col) in sh.cells if r in (header_row, header_row + 1)), default=1)
    inputs, outputs, annotations = [], [], []
    columns = []  # (kind, col, column object or None)
    for col in range(2, last_col + 1):
        kind = sh.text(header_row, col).upper()
        head_raw = sh.get(header_row + 1, col)
        head = _cell_text(head_raw)
        hloc = sh.loc(header_row + 1, col)
        if not kind and not head and not any((r, col) in sh.cells for r in range(header_row + 2, sh.max_row + 1)):
            continue  # an empty column (inserted, or left between columns) says nothing
        if kind not in ("INPUT", "OUTPUT", "ANNOTATION"):
            c.error("E125", sh.loc(header_row, col), f'"{sh.text(header_row, col)}" is not a column kind: '
                    "write INPUT, OUTPUT or ANNOTATION")
            columns.append((None, col, None))
            continue
        if kind == "ANNOTATION":
            annotations.append(head)
            columns.append(("annotation", col, None))
            continue
        if col in sh.hidden_columns:
            c.error("E107", sh.loc(header_row, col), f"the {kind} column {get_column_letter(col)} is hidden, and "
                    "a hidden column still applies to every rule: unhide it (select the columns around it, "
                    "right-click › Show / Unhide), or delete it")
        if not head:
            c.error("E126", hloc, f"the {kind} column has no field: write a Glossary field or its label")
            columns.append((None, col, None))
            continue
        f = _field_by_header(head, fields)
        if kind == "OUTPUT":
            if f is None:
                c.error("E126", hloc, f'"{head}" is not a Glossary field'
                        f"{did_you_mean(head, list(fields) + [x.label for x in fields.values()])}: "
                        "declare it in a Glossary sheet")
                columns.append((None, col, None))
                continue
            if any(o.field == f.name for o in outputs):
                c.error("E133", hloc, f'the output "{f.name}" appears twice in this table: one column per field')
                columns.append((None, col, None))
                continue
            oc = OutputColumn(head, f.name, f.type, hloc, f.allowed)
            outputs.append(oc)
            columns.append(("output", col, oc))
            continue
        if f is not None:
            ic = InputColumn(head, Name(f.name), f.type, f.name, hloc)
        else:
            try:
                expr = resolve_expr(parse_expression(head), fields)
                t = infer_type(expr, fields)
                if isinstance(expr, Name):  # pragma: no cover (caught above)
                    raise ResolveError("unknown")
                ic = InputColumn(head, expr, t or Type.NUMBER, None, hloc)
            except (SFeelError, ResolveError) as e:
                msg = str(e)
                if re.fullmatch(r"[^\W\d]\w*", head):
                    msg = (f'"{head}" is not a Glossary field'
                           f"{did_you_mean(head, list(fields) + [x.label for x in fields.values()])}: "
                           "declare it in a Glossary sheet, or write an expression over fields")
                c.error("E126", hloc, msg)
                columns.append((None, col, None))
                continue
        inputs.append(ic)
        columns.append(("input", col, ic))
    if agg is not None:
        for oc in outputs:
            unfit = agg.unfit(oc.type)
            if unfit:
                c.error("E131", oc.loc, f"{hp} " + unfit.format(field=oc.field, type=oc.type.value))
    if policy is not None and policy.ranked and outputs and \
            not any(isinstance(fields[oc.field].allowed, tuple) for oc in outputs):
        c.error("E132", outputs[0].loc, f"{hp} ranks rules by their outputs' allowed values, but no output "
                "has a list of allowed values in the Glossary: list them there, highest priority first")
    if not outputs and not any(k is None for k, _, _ in columns):
        c.error("E127", sh.loc(header_row, 2), "the table has no OUTPUT column")
    # rules
    rules = []
    seen_ids: dict[str, Loc] = {}
    for row in block_rows(sh, header_row + 2, c, "the rules"):
        if row in sh.hidden_rows:
            c.error("E107", sh.loc(row), f"row {row} is hidden, and a hidden rule still applies: unhide "
                    "it (select the rows around it, right-click › Show / Unhide), or delete the row")
        rule = _build_rule(sh, row, len(rules), columns, fields, policy, agg, c)
        rid = _cell_text(sh.get(row, 1))
        if rid:
            if rid in seen_ids:
                c.error("E128", sh.loc(row, 1), f'rule id "{rid}" is used twice in this table (also at '
                        f"{seen_ids[rid]}): give each rule its own id", related=seen_ids[rid])
            else:
                seen_ids[rid] = sh.loc(row, 1)
        if rule is not None:
            rules.append(rule)
    if any(d.severity == "error" for d in c.items[start:]):
        return None
    return Table(name, policy, agg, description, tuple(inputs), tuple(outputs), tuple(annotations),
                 tuple(rules), sh.loc(1, 2))


def _build_rule(sh, row, index, columns, fields, policy, agg, c: Collector) -> Rule | None:
    ok = True
    rid = _cell_text(sh.get(row, 1))
    if _formula_error(c, sh, row, 1):
        ok = False
    elif not rid:
        c.error("E129", sh.loc(row, 1), "the rule has no id: write a number or a short name in column A")
        ok = False
    ins, outs, notes = [], [], []
    for kind, col, obj in columns:
        raw = sh.get(row, col)
        loc = sh.loc(row, col)
        if kind is None:
            continue
        if _formula_error(c, sh, row, col):
            ok = False
            continue
        if kind == "annotation":
            notes.append(_cell_text(raw))
            continue
        text = _cell_text(raw)
        try:
            if kind == "input":
                ins.append(InputEntry(_input_test(raw, obj, fields), text, loc))
            else:
                outs.append(OutputEntry(_output_expr(raw, obj, fields, policy, agg), text, loc))
        except (SFeelError, ResolveError) as e:
            code = "E140" if isinstance(e, SFeelError) else "E141"
            why = cell_hint(text, obj.type) or e
            c.error(code, loc, f"{text}: {why}" if text else str(why))
            ok = False
    if not ok:
        return None
    return Rule(rid, index, row, tuple(ins), tuple(outs), tuple(notes), sh.loc(row, 1))


def _column_what(col) -> str:
    return f'the column "{col.header}"'


def _input_test(raw, col: InputColumn, fields):
    allowed = fields[col.field].allowed if col.field else None
    if raw is None:
        return AnyTest()
    if isinstance(raw, str):
        test = parse_unary_tests(raw)
    else:
        test = CompareTest("=", Literal(_excel_value(raw)))
    return resolve_test(test, col.type, allowed, fields, _column_what(col))


def _output_expr(raw, col: OutputColumn, fields, policy, agg):
    """An output cell: a literal of the field's type (a text list is ``"a","b"`` or
    ``["a","b"]``), null, or an expression over fields whose type fits."""
    f = fields[col.field]
    if raw is None:
        return Literal(None)
    what = f'the output "{col.header}"'
    words = {v: v for v in f.allowed} if isinstance(f.allowed, tuple) and f.type.item is Type.TEXT else None
    multi = policy is not None and not policy.single and agg is None
    # under a multi-hit policy a text-list column collects one text per rule
    item_type = f.type.item if (multi or f.type is not Type.TEXT_LIST) else f.type
    if isinstance(raw, str) and item_type is Type.TEXT_LIST:
        lit = parse_literal(raw)
        if lit is not None and not (isinstance(lit, Name) and lit.name in fields):
            items = lit if isinstance(lit, tuple) else (lit,)
            items = tuple(words[x.name] if isinstance(x, Name) and words and x.name in words else x
                          for x in items)
            if not all(isinstance(x, str) for x in items):
                raise ResolveError(f'{what} is a text list: write texts in quotes, e.g. "a", "b"')
            for x in items:
                _check_allowed(x, f, what)
            return Literal(items)
    expr = parse_expression(raw) if isinstance(raw, str) else Literal(_excel_value(raw))
    expr = resolve_expr(expr, fields, words)
    if isinstance(expr, Literal):
        v = expr.value
        if v is None:
            return expr
        if item_type is Type.TEXT_LIST:  # a single text (an Excel cell that is not a string)
            if not isinstance(v, str):
                raise ResolveError(f'{what} is a text list: write texts in quotes, e.g. "a", "b"')
            v = (v,)
        else:
            v = coerce_literal(v, item_type, what)
        _check_allowed(v, f, what)
        return Literal(v)
    t = infer_type(expr, fields)
    if t is not None and not (t is item_type or (t.is_numeric and item_type.is_numeric)):
        raise ResolveError(f"{what} is {item_type.value} but this expression gives a {t.value}")
    return expr


def _check_allowed(v, f: Field, what: str) -> None:
    if f.allowed is not None and v is not None and not in_allowed(v, f.allowed):
        raise ResolveError(f"{show(v)} is not an allowed value of {what}; allowed: "
                           f"{describe_allowed(f.allowed)}")


# --------------------------------------------------------------------------- unrecognised sheets
KIND_WORDS = {"table": ("a decision table", "Decision table (or 決定表)", "INPUT and OUTPUT"),
              "tests": ("a Tests sheet", "Tests (or テスト)", "INPUT and EXPECT")}


def unrecognised_sheet(sh: RawSheet, c: Collector) -> bool:
    """A sheet whose A1 is no sheet kind but which looks like a table or a Tests sheet (a
    Rule or Case header row with INPUT/OUTPUT/EXPECT beside it): one error naming the sheet
    and the fix, rather than the errors that would follow from its absence.  → whether so."""
    if sh.looks_like is None:
        return False
    kind, row = sh.looks_like
    what, a1, words = KIND_WORDS[kind]
    shown = f'"{_cell_text(sh.get(1, 1))}"' if sh.get(1, 1) is not None else "empty"
    c.error("E190", sh.loc(1, 1), f"this sheet looks like {what} (row {row} marks columns {words}), "
            f"but its A1 is {shown}, so it is not read: write {a1} in A1")
    return True


# --------------------------------------------------------------------------- tests sheets
def build_tests(sh: RawSheet, fields: Mapping[str, Field], c: Collector) -> TestSuite | None:
    target = sh.text(1, 2)
    if not target:
        c.error("E160", sh.loc(1, 2), "the Tests sheet names no decision: write a decision or table name in B1")
        return None
    description = sh.text(2, 2) if sh.text(2, 1).lower() == "description" else ""
    header_row = next((r for r in range(2, sh.max_row + 1) if sh.text(r, 1).lower() == "case"), None)
    if header_row is None:
        c.error("E163", sh.loc(), 'no header row: write "Case" in column A of the row that marks '
                "each column INPUT or EXPECT")
        return None
    last_col = max((col for (r, col) in sh.cells if r in (header_row, header_row + 1)), default=1)
    cols = []
    for col in range(2, last_col + 1):
        kind = sh.text(header_row, col).upper()
        head = sh.text(header_row + 1, col)
        if not kind and not head:
            continue
        if kind not in ("INPUT", "EXPECT", "EXPECTED", "OUTPUT"):
            c.error("E163", sh.loc(header_row, col), f'"{sh.text(header_row, col)}" is not a Tests column '
                    "kind: write INPUT or EXPECT")
            continue
        f = _field_by_header(head, fields)
        if f is None:
            c.error("E161", sh.loc(header_row + 1, col), f'"{head}" is not a Glossary field'
                    f"{did_you_mean(head, list(fields) + [x.label for x in fields.values()])}")
            continue
        cols.append(("input" if kind == "INPUT" else "expect", col, f))
    cases = []
    seen_ids: dict[str, tuple[str, Loc]] = {}
    for row in block_rows(sh, header_row + 2, c, "the cases"):
        cid = _cell_text(sh.get(row, 1)) or f"row {row}"
        if sh.text(row, 1):
            key = cid.casefold()
            if key in seen_ids:
                first, where = seen_ids[key]
                same = "" if first == cid else f' as "{first}": ids that differ only in capitals are the same id'
                c.error("E164", sh.loc(row, 1), f'case id "{cid}" is used twice (also at {where}{same}): '
                        "give each case its own id", related=where)
            else:
                seen_ids[key] = (cid, sh.loc(row, 1))
        inputs, expected, cells = {}, {}, {}
        ok = True
        for kind, col, f in cols:
            raw = sh.get(row, col)
            loc = sh.loc(row, col)
            if _formula_error(c, sh, row, col):
                ok = False
                continue
            if raw is None:
                continue
            try:
                v = test_value(raw, f)
            except (SFeelError, ResolveError) as e:
                c.error("E162", loc, f"{_cell_text(raw)}: {cell_hint(_cell_text(raw), f.type) or e}")
                ok = False
                continue
            if kind == "input" and v is None:
                continue
            (inputs if kind == "input" else expected)[f.name] = v
            cells[f.name] = loc
        if ok:
            cases.append(TestCase(cid, inputs, expected, cells, sh.loc(row, 1)))
    headers = tuple((f.name, kind, sh.loc(header_row + 1, col)) for kind, col, f in cols)
    return TestSuite(target, description, tuple(cases), sh.loc(1, 2), headers)


def test_value(raw, f: Field):
    """A Tests cell → a typed value of the field (text lists as tuples)."""
    what = f'the field "{f.name}"'
    if isinstance(raw, str):
        v = parse_literal(raw)
    else:
        v = _excel_value(raw)
    words = set(f.allowed) if isinstance(f.allowed, tuple) else set()

    def one(x, t):
        if isinstance(x, Name):
            if t is Type.TEXT and (x.name in words or not words):
                return x.name if x.name in words else _bare(x.name)
            raise ResolveError(f'"{x.name}" must be in double quotes: "{x.name}"')
        return coerce_literal(x, t, what)

    if f.type is Type.TEXT_LIST:
        if v is None:
            return None
        items = v if isinstance(v, (tuple, list)) else (v,)
        out = tuple(one(x, Type.TEXT) for x in items)
    else:
        if isinstance(v, (tuple, list)):
            raise ResolveError(f"{what} holds one value, not a list")
        out = one(v, f.type)
    if out is not None and f.allowed is not None and not in_allowed(out, f.allowed):
        raise ResolveError(f"{show(out)} is not an allowed value of {what}; allowed: "
                           f"{describe_allowed(f.allowed)}")
    return out


def _bare(word):
    raise ResolveError(f'texts are written in double quotes: "{word}"')


# --------------------------------------------------------------------------- invariants
def build_invariants(sh: RawSheet, fields: Mapping[str, Field], c: Collector) -> InvariantSuite | None:
    target = sh.text(1, 2)
    if not target:
        c.error("E170", sh.loc(1, 2), "the Invariants sheet names no decision: write it in B1")
        return None
    props = []
    for row in block_rows(sh, 3, c, "the properties"):
        pid = _cell_text(sh.get(row, 1)) or f"row {row}"
        ok = True
        parsed = []
        for col in (2, 3):
            raw = sh.get(row, col)
            text = _cell_text(raw)
            if _formula_error(c, sh, row, col):
                ok = False
                continue
            if col == 3 and not text:
                c.error("E170", sh.loc(row, 3), "THEN is empty: write what must hold, e.g. "
                        'card_status != "issuable"')
                ok = False
                continue
            if col == 2 and not text:
                parsed.append(None)
                continue
            try:
                e = resolve_expr(parse_expression(text), fields)
                t = infer_type(e, fields)
                if t is not Type.BOOLEAN:
                    raise ResolveError("this must be a condition (true or false), e.g. amount_yen > 0")
                parsed.append(e)
            except (SFeelError, ResolveError) as e:
                c.error("E171", sh.loc(row, col), f"{text}: {e}")
                ok = False
        if ok:
            props.append(Invariant(pid, parsed[0], parsed[1], _cell_text(sh.get(row, 2)),
                                   _cell_text(sh.get(row, 3)), sh.loc(row, 1)))
    return InvariantSuite(target, tuple(props), sh.loc(1, 2))
