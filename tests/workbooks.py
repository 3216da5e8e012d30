"""Build small workbooks with openpyxl for tests (shared by the test modules).

    path = write_workbook(tmp_path / "t.xlsx",
        glossary=[("amount", "number", "", "金額")],
        tables=[table("T", "FIRST", ["INPUT amount", "OUTPUT ok"], [[1, "> 3", True]])])
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from openpyxl import Workbook


class Text(str):
    """A cell value written as text even when it starts with "=" (what Excel stores when
    the analyst types '=> 3); a plain str starting with "=" is written as a formula."""


def table(name: str, policy: str | None, columns: Sequence[str], rules: Iterable[Sequence[Any]],
          description: str | None = None, sheet: str | None = None) -> dict:
    """columns: "INPUT field", "OUTPUT field" or "ANNOTATION note"; rules: rows
    starting with the rule id, one value per column (None = empty cell)."""
    return {"kind": "table", "name": name, "policy": policy, "columns": list(columns),
            "rules": [list(r) for r in rules], "description": description, "sheet": sheet or name}


def tests_sheet(target: str, columns: Sequence[str], cases: Iterable[Sequence[Any]],
                sheet: str = "Tests") -> dict:
    """columns: "INPUT field" or "EXPECT field"; cases: rows starting with the case id."""
    return {"kind": "tests", "target": target, "columns": list(columns),
            "cases": [list(c) for c in cases], "sheet": sheet}


def invariants_sheet(target: str, rows: Iterable[Sequence[Any]], sheet: str = "Invariants") -> dict:
    return {"kind": "invariants", "target": target, "rows": [list(r) for r in rows], "sheet": sheet}


def _append(ws, row) -> None:
    ws.append(list(row))
    for col, v in enumerate(row, 1):
        if isinstance(v, Text):  # keep it a text: openpyxl makes any "=..." a formula
            ws.cell(ws.max_row, col).data_type = "s"


def write_workbook(path: Path, glossary: Iterable[Sequence[Any]] = (), sheets: Iterable[dict] = (),
                   tables: Iterable[dict] = ()) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Glossary"
    ws.append(["Glossary"])
    ws.append(["Field", "Type", "Allowed values", "Label", "Description"])
    for row in glossary:
        ws.append(list(row) + [None] * (5 - len(row)))
    for spec in list(tables) + list(sheets):
        s = wb.create_sheet(spec["sheet"][:31])
        if spec["kind"] == "table":
            s.append(["Decision table", spec["name"]])
            s.append(["Hit policy", spec["policy"]])
            if spec["description"]:
                s.append(["Description", spec["description"]])
            s.append([])
            s.append(["Rule"] + [c.split(" ", 1)[0] for c in spec["columns"]])
            s.append([None] + [c.split(" ", 1)[1] if " " in c else None for c in spec["columns"]])
            for r in spec["rules"]:
                _append(s, r)
        elif spec["kind"] == "tests":
            s.append(["Tests", spec["target"]])
            s.append([])
            s.append(["Case"] + [c.split(" ", 1)[0] for c in spec["columns"]])
            s.append([None] + [c.split(" ", 1)[1] for c in spec["columns"]])
            for c in spec["cases"]:
                _append(s, c)
        elif spec["kind"] == "invariants":
            s.append(["Invariants", spec["target"]])
            s.append(["Property", "WHEN", "THEN"])
            for r in spec["rows"]:
                _append(s, r)
        elif spec["kind"] == "raw":
            for r in spec["rows"]:
                _append(s, r)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def raw_sheet(title: str, rows: Iterable[Sequence[Any]]) -> dict:
    """A sheet written exactly as given, row by row from A1 (for layouts the other
    helpers cannot express: a missing "Hit policy" row, a note sheet, …)."""
    return {"kind": "raw", "rows": [list(r) for r in rows], "sheet": title}


def set_cached_values(path: Path, values: dict) -> Path:
    """Give formula cells a cached value, as Excel does when it saves (openpyxl writes
    formulas without one).  values: {(sheet title, "C7"): cached value (str, number or bool)}."""
    import re
    import zipfile
    from xml.sax.saxutils import escape

    path = Path(path)
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    titles = re.findall(r'<sheet [^>]*name="([^"]+)"', files["xl/workbook.xml"].decode())
    for (title, ref), value in values.items():
        name = f"xl/worksheets/sheet{titles.index(escape(title)) + 1}.xml"
        xml = files[name].decode()
        if isinstance(value, bool):
            t, v = ' t="b"', "1" if value else "0"
        elif isinstance(value, (int, float)):
            t, v = "", repr(value)
        else:
            t, v = ' t="str"', escape(str(value))
        pat = re.compile(rf'<c r="{ref}"([^>]*)><f>(.*?)</f><v\s*/>(</c>)')
        xml, n = pat.subn(lambda m: f'<c r="{ref}"{m.group(1)}{t}><f>{m.group(2)}</f><v>{v}</v></c>', xml)
        if n != 1:
            raise ValueError(f"no uncached formula at {title}!{ref}")
        files[name] = xml.encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data in files.items():
            z.writestr(n, data)
    return path
