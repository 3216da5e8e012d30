"""Issue 10, item 6 (bounded reading) and its acceptance corpus: broken and hostile
workbooks, built here in tmp_path.  Each one, alone in a tables directory, makes
`decide tables DIR` exit 2 with one line naming the workbook and saying what to do, never
a traceback, within 5 s and under 500 MB (the peak RSS of the CLI process); all of them together do the same for `decide test DIR`.  Workbooks that look
alarming but are fine (a whole-sheet <dimension> tag, a huge notes sheet) load quickly."""
from __future__ import annotations

import io
import os
import re
import resource
import struct
import subprocess
import sys
import time
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

import decide
from decide.compile.reader import read_directory
from decide.compile.xlsxguard import Limits
from tests.test_http import call, server  # noqa: F401  (server is a fixture)
from tests.workbooks import raw_sheet, table, write_workbook

NS = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
A1_TABLE = b'<row r="1"><c r="A1" t="inlineStr"><is><t>Decision table</t></is></c></row>'
GLOSSARY_PART = "xl/worksheets/sheet1.xml"  # the base workbook's sheets: Glossary, T, Notes
TABLE_PART = "xl/worksheets/sheet2.xml"
NOTES_PART = "xl/worksheets/sheet3.xml"
SECONDS, MEGABYTES = 5.0, 500


# --------------------------------------------------------------------------- building files
def base(path: Path) -> Path:
    """A valid workbook: Glossary, one decision table T, a Notes sheet."""
    return write_workbook(path, glossary=[("amount", "number"), ("code", "text"), ("ok", "boolean")],
                          tables=[table("T", "FIRST", ["INPUT amount", "OUTPUT ok"],
                                        [[1, "> 3", True], [2, "-", False]])],
                          sheets=[raw_sheet("Notes", [["Notes"], ["written by the analysts"]])])


def parts_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


class Raw:
    """A part given as its deflate stream, with the CRC and size the zip declares."""

    def __init__(self, stream: bytes, crc: int, size: int):
        self.stream, self.crc, self.size = stream, crc, size


def write_zip(path: Path, parts: dict) -> Path:
    """A zip written by hand, so that a part can declare what it likes (sizes, CRC)."""
    body, central = io.BytesIO(), io.BytesIO()
    for name, data in parts.items():
        if not isinstance(data, Raw):
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            data = Raw(c.compress(data) + c.flush(), zlib.crc32(data), len(data))
        n = name.encode()
        offset = body.tell()
        body.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, data.crc,
                               len(data.stream), data.size, len(n), 0) + n + data.stream)
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, data.crc,
                                  len(data.stream), data.size, len(n), 0, 0, 0, 0, 0, offset) + n)
    cd = central.getvalue()
    path.write_bytes(body.getvalue() + cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(parts),
                                                        len(parts), len(cd), body.tell(), 0))
    return path


def base_parts(path: Path) -> dict[str, bytes]:
    made = base(path.with_name("base-" + path.name))
    parts = parts_of(made)
    made.unlink()
    return parts


def variant(path: Path, changes: dict) -> Path:
    """The base workbook with some parts replaced or added (name → bytes or Raw)."""
    return write_zip(path, {**base_parts(path), **changes})


def zeros(megabytes: int) -> bytes:
    """The deflate stream of ``megabytes`` MiB of zero bytes, made without compressing
    them all: one full-flushed block of 1 MiB (it refers to nothing before it) repeated."""
    block = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = block.compress(bytes(1 << 20)) + block.flush(zlib.Z_FULL_FLUSH)
    return one * megabytes + zlib.compressobj(9, zlib.DEFLATED, -15).flush()


def sheet(rows) -> bytes:
    return NS + b"<sheetData>" + A1_TABLE + b"".join(rows) + b"</sheetData></worksheet>"


def with_dtd(xml: bytes, dtd: bytes) -> bytes:
    """``xml`` with a document type declaration (entities) before its root element."""
    root = xml.index(b"<", xml.index(b"?>") + 2) if xml.startswith(b"<?xml") else 0
    return xml[:root] + dtd + b"\n" + xml[root:]


LAUGHS = (b"<!DOCTYPE workbook [\n <!ENTITY lol \"lol\">\n"
          + b"".join(b' <!ENTITY lol%d "%s">\n' % (i, (b"&lol%s;" % (b"" if i == 1 else b"%d" % (i - 1))) * 10)
                     for i in range(1, 10)) + b"]>")


def billion_laughs(path: Path) -> Path:
    """&lol9; (10^9 "lol"s) as a defined name in the workbook part, which is parsed whole."""
    xml = base_parts(path)["xl/workbook.xml"]
    xml = xml.replace(b"</sheets>", b'</sheets><definedNames><definedName name="lol">&lol9;</definedName>'
                                    b"</definedNames>")
    return variant(path, {"xl/workbook.xml": with_dtd(xml, LAUGHS)})


def external_entity(path: Path) -> Path:
    """/etc/passwd as a Glossary field name, in the sheet (parsed as a stream)."""
    xml = base_parts(path)[GLOSSARY_PART]
    xml = xml.replace(b"</sheetData>", b'<row r="9"><c r="A9" t="inlineStr"><is><t>&xxe;</t></is></c></row>'
                                       b"</sheetData>")
    return variant(path, {GLOSSARY_PART: with_dtd(xml, b'<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM '
                                                       b'"file:///etc/passwd">]>')})


def shared_strings(path: Path, n: int) -> Path:
    parts = base_parts(path)
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
                     b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>", b'<Relationship Id="rIdS" Type="http://schemas.openxmlformats.org/officeDocument/'
                             b'2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    parts["xl/sharedStrings.xml"] = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                                     + b"".join(b"<si><t>s%d</t></si>" % i for i in range(n)) + b"</sst>")
    return write_zip(path, parts)


def encrypted(path: Path) -> Path:
    """A real password-protected workbook, as Excel writes it (an OLE2 compound file)."""
    from msoffcrypto.format.ooxml import OOXMLFile
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(base(path.with_suffix(".plain")).read_bytes())).encrypt("secret", out)
    path.with_suffix(".plain").unlink()
    path.write_bytes(out.getvalue())
    return path


def truncated(path: Path) -> Path:
    data = base(path).read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def wrong_crc(path: Path) -> Path:
    xml = base_parts(path)[TABLE_PART]
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return variant(path, {TABLE_PART: Raw(c.compress(xml) + c.flush(), zlib.crc32(xml) ^ 0xFFFF, len(xml))})


def malformed_sheet(path: Path) -> Path:
    xml = base_parts(path)[TABLE_PART]
    return variant(path, {TABLE_PART: xml.replace(b"</sheetData>", b"<row r='99'><c></row></sheetData>")})


def many_parts(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for i in range(20_000):
            z.writestr(f"p{i}", b"")
    return path


def bzip2(path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_BZIP2) as z:
        for name, data in base_parts(path).items():
            z.writestr(name, data)
    return path


def write_file(data: bytes):
    def make(path: Path) -> Path:
        path.write_bytes(data)
        return path
    return make


def link_to(target: str):
    def make(path: Path) -> Path:
        path.symlink_to(target)
        return path
    return make


def renamed(path: Path) -> Path:
    base(path.with_suffix(".tmp")).rename(path)
    return path


def part(name: str, data):
    return lambda path: variant(path, {name: data() if callable(data) else data})


# name, builder, code, what the line must also say
CORPUS = [
    ("bomb.xlsx", part(TABLE_PART, lambda: Raw(zeros(3000), 0, 3000 << 20)), "E104", "zip bomb"),
    ("bomb_lying.xlsx", part(TABLE_PART, lambda: Raw(zeros(3000), 0, 1 << 20)), "E100", "damaged"),
    ("billion_laughs.xlsx", billion_laughs, "E105", "declares XML entities in xl/workbook.xml"),
    ("external_entity.xlsx", external_entity, "E105", "declares XML entities"),
    ("rows_1m.xlsx", part(TABLE_PART, lambda: sheet(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (i, i)
                                                    for i in range(2, 1_048_577))), "E104", "MB uncompressed"),
    ("rows_past_limit.xlsx", part(TABLE_PART, lambda: sheet(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (i, i)
                                                            for i in range(2, 100_100))),
     "E104", "past row 100,000"),
    ("cols_16k.xlsx", part(TABLE_PART, lambda: sheet([b'<row r="2">' + b"".join(
        b'<c r="%s2"><v>1</v></c>' % openpyxl.utils.get_column_letter(c).encode() for c in range(1, 16385))
        + b"</row>"])), "E104", "past the 1,000 columns"),
    ("malformed_sheet.xlsx", malformed_sheet, "E100", "malformed XML"),
    ("malformed_content_types.xlsx", part("[Content_Types].xml", b'<Types xmlns="x"><Override PartName="/xl'), "E100",
     "malformed XML in [Content_Types].xml"),
    ("bad_crc.xlsx", wrong_crc, "E100", "Bad CRC-32"),
    ("truncated.xlsx", truncated, "E100", "not a complete zip archive"),
    ("empty.xlsx", write_file(b""), "E100", "is empty"),
    ("encrypted.xlsx", encrypted, "E103", "password-protected: save it without a password"),
    ("legacy.xlsx", write_file(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(2048)), "E102", "Excel 97-2003"),
    ("old.xls", write_file(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(2048)), "E102",
     "save it as Excel Workbook (.xlsx)"),
    ("macro.xlsm", renamed, "E102", "macro-enabled workbook (.xlsm)"),
    ("vba_inside.xlsx", part("xl/vbaProject.bin", b"\x00" * 64), "E102", "macro-enabled"),
    ("passwd.xlsx", link_to("/etc/passwd"), "E105", "outside the tables directory"),
    ("export.xlsx", write_file("amount,ok\n5,true\n金額,x\n".encode()), "E102",
     "text file (CSV or similar)"),
    ("archive.xlsx", lambda p: write_zip(p, {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}),
     "E102", "no [Content_Types].xml"),
    ("strings.xlsx", lambda p: shared_strings(p, 300_000), "E104", "read whole"),
    ("many_parts.xlsx", many_parts, "E104", "20,000 parts"),
    ("bzip2.xlsx", bzip2, "E100", "compression method 12"),
    ("pipe.xlsx", lambda p: os.mkfifo(p), "E102", "not a workbook file"),
]


# --------------------------------------------------------------------------- running the CLI
# The CLI, writing its peak RSS on exit.  VmHWM, not getrusage's ru_maxrss: on Linux that
# keeps the peak of the process before exec, i.e. of the forking pytest process.
RUN = ("import atexit, re, sys\n"
       "out = sys.argv.pop(1)\n"
       "def peak():\n"
       "    status = open('/proc/self/status').read()\n"
       "    open(out, 'w').write(re.search(r'VmHWM:\\s*(\\d+) kB', status).group(1))\n"
       "atexit.register(peak)\n"
       "from decide.app.cli import main\n"
       "sys.argv[0] = 'decide'\n"
       "main()\n")


def _cap_memory():  # a regression must not take the machine down with it
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def run_cli(tmp: Path, *args: str):
    """(exit code, stdout, stderr lines, seconds, peak RSS in MB) of `decide ARGS`."""
    rss = tmp / "rss.txt"
    start = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", RUN, str(rss), *args], capture_output=True, text=True,
                       timeout=120, preexec_fn=_cap_memory)
    seconds = time.perf_counter() - start
    return p.returncode, p.stdout, p.stderr.splitlines(), seconds, int(rss.read_text()) / 1024


FIGURES: dict[str, tuple[float, float]] = {}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Each hostile file alone in a directory, and all of them in one."""
    root = tmp_path_factory.mktemp("corpus")
    every = root / "every"
    every.mkdir()
    dirs = {}
    for name, make, _, _ in CORPUS:
        d = root / name.replace(".", "_")
        d.mkdir()
        make(d / name)
        make(every / name)
        dirs[name] = d
    yield dirs, every
    if FIGURES:
        print("\n" + "\n".join(f"  {n:30} {s:5.2f} s {m:6.1f} MB" for n, (s, m) in FIGURES.items()))


@pytest.mark.parametrize("name,code,hint", [(c[0], c[2], c[3]) for c in CORPUS], ids=[c[0] for c in CORPUS])
def test_each_hostile_workbook_is_one_line_and_exit_2(corpus, tmp_path, name, code, hint):
    dirs, _ = corpus
    rc, out, err, seconds, mb = run_cli(tmp_path, "tables", str(dirs[name]))
    FIGURES[name] = (seconds, mb)
    assert rc == 2, (rc, out, err)
    assert not any("Traceback" in line for line in err), err
    naming = [line for line in err if name in line]
    assert len(naming) == 1, err
    assert f"[{code}]" in naming[0] and hint in naming[0], naming[0]
    assert "root:" not in out + "".join(err)  # nothing of /etc/passwd
    assert seconds < SECONDS, f"{name}: {seconds:.1f} s"
    assert mb < MEGABYTES, f"{name}: {mb:.0f} MB"


def test_the_whole_corpus_at_once_through_decide_test(corpus, tmp_path):
    _, every = corpus
    rc, out, err, seconds, mb = run_cli(tmp_path, "test", str(every))
    FIGURES["(all of them, decide test)"] = (seconds, mb)
    assert rc == 2, (rc, out, err)
    assert not any("Traceback" in line for line in err), err
    for name, _, code, hint in CORPUS:
        naming = [line for line in err if name in line and "error in the workbooks" not in line]
        assert len(naming) == 1 and f"[{code}]" in naming[0] and hint in naming[0], (name, naming)
    assert seconds < 2 * SECONDS and mb < MEGABYTES, (seconds, mb)  # 24 files, each well within 5 s


def test_dimension_tag_and_huge_notes_sheet_are_not_read(tmp_path):
    """A <dimension> claiming the whole sheet is not trusted, and a sheet that is not a
    table (A1 says so) is not read past A1, however big and without a <dimension> tag
    (openpyxl would read it to the end to find one): the workbook loads, fast."""
    xml = re.sub(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="A1:XFD1048576"/>',
                 base_parts(tmp_path / "b.xlsx")[TABLE_PART])
    assert b"XFD1048576" in xml
    notes = (NS + b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Notes'
             b"</t></is></c></row>"
             + b"".join(b'<row r="%d"><c r="A%d"><v>%d</v></c><c r="XFD%d"><v>1</v></c></row>' % (i, i, i, i)
                        for i in range(2, 200_000, 7))
             + b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>')
    d = tmp_path / "tables"
    d.mkdir()
    variant(d / "fine.xlsx", {TABLE_PART: xml, NOTES_PART: notes})
    rc, out, err, seconds, mb = run_cli(tmp_path, "tables", str(d))
    FIGURES["fine.xlsx (dimension, big notes)"] = (seconds, mb)
    assert rc == 0, err
    assert "T  [fine.xlsx › T" in out
    assert seconds < SECONDS and mb < MEGABYTES, (seconds, mb)


# --------------------------------------------------------------------------- in process
def test_openpyxl_parses_through_defusedxml():
    assert openpyxl.DEFUSEDXML is True


def test_row_and_column_limits_come_from_the_environment(tmp_path, monkeypatch):
    base(tmp_path / "t.xlsx")
    monkeypatch.setenv("DECIDE_MAX_ROWS", "5")
    _, diags = read_directory(tmp_path)
    assert [(d.code, d.sheet) for d in diags] == [("E104", "T")] and "past row 5" in diags[0].message
    monkeypatch.setenv("DECIDE_MAX_ROWS", "")
    monkeypatch.setenv("DECIDE_MAX_COLUMNS", "many")
    _, diags = read_directory(tmp_path)
    assert diags[0].code == "E100" and "DECIDE_MAX_COLUMNS" in diags[0].message
    monkeypatch.setenv("DECIDE_MAX_COLUMNS", "1")
    _, diags = read_directory(tmp_path)
    assert [(d.code, d.sheet) for d in diags] == [("E104", "Glossary")]
    assert "has a value in B2, past the 1 columns" in diags[0].message


def test_the_xml_parsed_per_workbook_is_bounded(tmp_path):
    """A budget that all the other parts fit in (even twice) but not table sheet T."""
    big = sheet(b'<row r="%d"><c r="A%d"><v>1</v></c></row>' % (i, i) for i in range(2, 3000))
    parts = parts_of(variant(tmp_path / "t.xlsx", {TABLE_PART: big}))
    others = 2 * sum(len(v) for k, v in parts.items() if k != TABLE_PART)
    assert others < len(big) // 2
    _, diags = read_directory(tmp_path, Limits(max_read_bytes=others))
    assert [(d.code, d.sheet) for d in diags] == [("E104", "T")]
    assert "parsing more than" in diags[0].message
    assert read_directory(tmp_path, Limits(max_read_bytes=others + len(big)))[1] == []


def test_a_bad_workbook_does_not_stop_the_others_being_read(tmp_path):
    base(tmp_path / "good.xlsx")
    (tmp_path / "bad.xlsx").write_bytes(b"not a workbook")
    sheets, diags = read_directory(tmp_path)
    assert [(d.workbook, d.code) for d in diags] == [("bad.xlsx", "E102")]
    assert {(s.workbook, s.title, s.kind) for s in sheets} == {
        ("good.xlsx", "Glossary", "glossary"), ("good.xlsx", "T", "table"), ("good.xlsx", "Notes", "other")}


def test_a_link_inside_the_directory_is_followed(tmp_path):
    base(tmp_path / "real.xlsx")
    (tmp_path / "alias.xlsx").symlink_to(tmp_path / "real.xlsx")
    sheets, diags = read_directory(tmp_path)
    assert diags == [] and {s.workbook for s in sheets} == {"alias.xlsx", "real.xlsx"}


def test_reload_answers_422_naming_the_workbook(server):  # noqa: F811
    url, copy, _ = server
    malformed_sheet(copy / "broken.xlsx")
    status, body = call(url, "/reload", b"")
    assert status == 422
    assert [d["workbook"] for d in body["error"]["diagnostics"]] == ["broken.xlsx"]
    assert call(url, "/health")[0] == 200


@pytest.mark.parametrize("value", [10 ** 5000, -(10 ** 5000), Decimal("1e6000"), 1e300],
                         ids=["10**5000", "-10**5000", "Decimal(1e6000)", "1e300"])
@pytest.mark.parametrize("field", ["amount", "code"])
def test_numbers_in_cases_are_bounded(tmp_path, field, value):
    write_workbook(tmp_path / "t.xlsx", glossary=[("amount", "number"), ("code", "text"), ("ok", "boolean")],
                   tables=[table("T", "FIRST", ["INPUT amount", "INPUT code", "OUTPUT ok"],
                                 [[1, "> 3", "-", True], [2, "-", "-", False]])])
    book = decide.load(tmp_path)
    with pytest.raises(decide.CaseError, match="more than 100 digits"):
        book.decide("T", {field: value})
    assert book.decide("T", {"amount": 10 ** 99}).outputs["ok"] is True
