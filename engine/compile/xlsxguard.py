"""Bounds on reading an untrusted workbook file, checked before and while openpyxl reads it.

An ``.xlsx`` is a zip of XML parts.  A broken or hostile one can be a zip bomb, declare
entities that expand to gigabytes, claim a million rows, be encrypted, or not be an
``.xlsx`` at all (a CSV, an ``.xls``, a macro workbook).  ``open_workbook`` looks at the
file and the zip directory (nothing is decompressed) and returns a ``BoundedZip`` whose
parts can only be read within ``Limits``; ``refusal`` turns whatever openpyxl raises on a
damaged file into one ``Refused`` naming the part.  openpyxl parses XML through
defusedxml (a dependency), which refuses entity declarations and external references.

Codes: E100 damaged or unreadable, E102 not an .xlsx (with what to save it as),
E103 password-protected, E104 over a reading limit, E105 unsafe content or location.
"""
from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import BinaryIO


MB = 1_000_000
SAVE_AS = "save it as Excel Workbook (.xlsx)"
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # compound file: .xls, or an encrypted .xlsx
WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
MACROS = f"is a macro-enabled workbook (.xlsm): the engine reads no macros; {SAVE_AS}"
OTHER_FORMATS = {  # file names the engine lists so that a workbook saved in the wrong format is not missed
    ".xlsm": MACROS,
    ".xls": f"is an Excel 97-2003 workbook (.xls), which the engine does not read: {SAVE_AS}",
    ".xlsb": f"is a binary workbook (.xlsb), which the engine does not read: {SAVE_AS}",
}
ENV = {"max_rows": "DECIDE_MAX_ROWS", "max_columns": "DECIDE_MAX_COLUMNS"}


@dataclass(frozen=True)
class Limits:
    max_rows: int = 100_000  # rows read per sheet
    max_columns: int = 1_000  # columns read per sheet
    max_read_bytes: int = 16 * MB  # XML parsed per workbook (parts read whole, sheets streamed)
    max_xml_bytes: int = 5 * MB  # a part read whole into memory (shared strings, styles, …)
    max_part_bytes: int = 20 * MB  # any part, uncompressed
    max_total_bytes: int = 100 * MB  # all parts, uncompressed; also the file's size
    max_ratio: int = 100  # uncompressed : compressed, for a part over 1 MB
    max_parts: int = 10_000

    @classmethod
    def from_env(cls, environ=os.environ) -> "Limits":
        """Defaults, with the row and column limits taken from DECIDE_MAX_ROWS and
        DECIDE_MAX_COLUMNS when set (ValueError naming the variable if not a count)."""
        given = {}
        for f in fields(cls):
            var = ENV.get(f.name)
            if var and environ.get(var, "").strip():
                text = environ[var].strip().replace("_", "").replace(",", "")
                if not text.isdigit() or int(text) < 1:
                    raise ValueError(f"{var} must be a whole number of at least 1, got {environ[var]!r}")
                given[f.name] = int(text)
        return cls(**given)


class Refused(Exception):
    """The workbook (or one of its sheets) is not read; ``code`` and ``message`` say why."""

    def __init__(self, code: str, message: str, sheet: str = ""):
        super().__init__(message)
        self.code, self.message, self.sheet = code, message, sheet


def _mb(n: int) -> str:
    return f"{n / MB:,.1f} MB"


def over_limit(what: str, sheet: str = "") -> Refused:
    return Refused("E104", what, sheet)


class BoundedZip(zipfile.ZipFile):
    """The workbook's zip, handed to openpyxl, which reads a part whole (``read``, or
    ``open(...).read()``) or streams a worksheet (``open`` and reads of a chunk).  A part
    read whole may be at most ``max_xml_bytes``, and all the XML handed out, whole or
    streamed, at most ``max_read_bytes``: parse time and memory follow from these two."""

    def __init__(self, file: BinaryIO, limits: Limits):
        self.limits = limits
        self.worksheets: frozenset = frozenset()  # parts that may be streamed
        self.last_part = ""  # the part opened last: where a parse error most likely is
        self.spent = 0  # bytes of XML handed out
        self.source = file  # owned: closed with the zip
        super().__init__(file)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.source.close()

    def charge(self, n: int) -> None:
        self.spent += n
        if self.spent > self.limits.max_read_bytes:
            raise over_limit(f"reading it means parsing more than {_mb(self.limits.max_read_bytes)} of XML: "
                             "is this the right file?")

    def whole(self, info: zipfile.ZipInfo) -> None:
        if info.file_size > self.limits.max_xml_bytes:
            raise over_limit(f"its part {info.filename} is {_mb(info.file_size)} of XML; a part read whole "
                             f"may be at most {_mb(self.limits.max_xml_bytes)}: is this the right file?")
        self.charge(info.file_size)

    def open(self, name, mode="r", pwd=None, *, force_zip64=False):
        if mode != "r":
            return super().open(name, mode, pwd, force_zip64=force_zip64)
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        self.last_part = info.filename
        if info.filename not in self.worksheets:
            self.whole(info)
            return super().open(info, mode, pwd)
        return _Streamed(super().open(info, mode, pwd), self, info)


class _Streamed:
    """A worksheet part, charged by the chunk as openpyxl streams it (reading it whole is
    bounded like any part read whole)."""

    def __init__(self, stream, owner: BoundedZip, info: zipfile.ZipInfo):
        self._stream, self._owner, self._info = stream, owner, info
        self.name = info.filename

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            self._owner.whole(self._info)
            return self._stream.read()
        data = self._stream.read(n)
        self._owner.charge(len(data))
        return data

    def close(self) -> None:
        self._stream.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# --------------------------------------------------------------------------- the file
def _outside(path: Path, root: Path | None) -> bool:
    if root is None:
        return False
    try:
        path.resolve().relative_to(root.resolve())
        return False
    except ValueError:
        return True


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return True
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start >= len(head) - 3  # only a character cut at the end of the sample
    return True


def _contains(f: BinaryIO, needle: bytes, limit: int) -> bool:
    """Whether ``needle`` occurs in the first ``limit`` bytes of ``f``, read in chunks."""
    f.seek(0)
    tail, seen = b"", 0
    while seen < limit:
        chunk = f.read(1 << 20)
        if not chunk:
            return False
        if needle in tail + chunk:
            return True
        tail, seen = chunk[-len(needle):], seen + len(chunk)
    return False


def _not_a_zip(f: BinaryIO, head: bytes, size: int) -> Refused:
    if head.startswith(OLE2):
        if _contains(f, "EncryptedPackage".encode("utf-16-le"), size):
            return Refused("E103", "is password-protected: save it without a password (in Excel: "
                                   "File › Info › Protect Workbook › Encrypt with Password, clear it)")
        return Refused("E102", f"is an Excel 97-2003 workbook (.xls), which the engine does not read: {SAVE_AS}")
    if _looks_like_text(head):
        return Refused("E102", f"is a text file (CSV or similar), not an Excel workbook: open it in Excel "
                               f"and {SAVE_AS}")
    return Refused("E102", f"is not an Excel workbook (an .xlsx is a zip archive; this file is not): {SAVE_AS}")


def _content_types(zf: BoundedZip) -> dict[str, set[str]]:
    """Part name → the content types [Content_Types].xml gives it (Override entries)."""
    from defusedxml.ElementTree import fromstring  # imported when a workbook is parsed
    name = "[Content_Types].xml"
    try:
        root = fromstring(zf.read(name))
    except Exception as e:  # malformed XML, entities, a damaged zip entry
        raise refusal(e, name) from None
    types: dict[str, set[str]] = {}
    for o in root.iter(f"{CT}Override"):
        types.setdefault(o.get("PartName", "").lstrip("/"), set()).add(o.get("ContentType", ""))
    return types


def _check_directory_size(f: BinaryIO, size: int, limits: Limits) -> None:
    """Refuse a zip whose directory lists too many parts before zipfile reads it (it makes
    an object of every entry).  A missing end record is left to zipfile to report."""
    tail = min(size, 22 + 0xFFFF)  # the end record, after which only a comment may come
    f.seek(size - tail)
    data = f.read(tail)
    at = data.rfind(b"PK\x05\x06")
    if at < 0 or len(data) - at < 22:
        return
    entries, cd_size = struct.unpack_from("<HI", data, at + 10)
    if entries > limits.max_parts or cd_size > limits.max_parts * 512:
        raise over_limit(f"its zip directory lists {'65,535 or more' if entries == 0xFFFF else f'{entries:,}'} "
                         f"parts in {_mb(cd_size)} (at most {limits.max_parts:,} parts)")


def _check_zip(zf: BoundedZip, limits: Limits) -> frozenset:
    """Refuse on the zip directory alone; return the worksheet parts (which may be streamed)."""
    infos = zf.infolist()
    names = {i.filename for i in infos}
    if len(infos) > limits.max_parts:
        raise over_limit(f"its zip archive has {len(infos):,} parts (at most {limits.max_parts:,})")
    if any(i.flag_bits & 0x1 for i in infos):
        raise Refused("E103", "is password-protected (an encrypted zip): save it without a password")
    odd = next((i for i in infos if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)), None)
    if odd is not None:  # Excel only stores or deflates; bzip2 and lzma expand without bound per read
        raise Refused("E100", f"is damaged or not from Excel: its part {odd.filename} uses compression method "
                              f"{odd.compress_type}, which Excel never writes: save it again from Excel")
    if "[Content_Types].xml" not in names:
        raise Refused("E102", "is a zip archive but not an Excel workbook (it has no [Content_Types].xml; "
                              f"an OpenDocument .ods?): {SAVE_AS}")
    if "xl/vbaProject.bin" in names:
        raise Refused("E102", MACROS)
    total = 0
    for i in infos:
        if i.file_size > MB and i.file_size > limits.max_ratio * max(i.compress_size, 1):
            raise over_limit(f"its part {i.filename} expands {i.file_size // max(i.compress_size, 1):,} "
                             f"times ({_mb(i.compress_size)} → {_mb(i.file_size)}): a zip bomb?")
        if i.file_size > limits.max_part_bytes:
            raise over_limit(f"its part {i.filename} is {_mb(i.file_size)} uncompressed, over the "
                             f"{_mb(limits.max_part_bytes)} read of a part: is this the right file?")
        total += i.file_size
        if total > limits.max_total_bytes:
            raise over_limit(f"its parts add up to more than {_mb(limits.max_total_bytes)} uncompressed: "
                             "is this the right file?")
    types = _content_types(zf)
    if any("macroEnabled" in t for ts in types.values() for t in ts):
        raise Refused("E102", MACROS)
    return frozenset(n for n, ts in types.items() if ts == {WORKSHEET} and n in names)


def read_file(path: Path, root: Path | None, limits: Limits) -> bytes:
    """The bytes of the workbook file at ``path``, or Refused, checked on the file alone
    (location, kind, size, suffix) before it is read.  ``root``: the tables directory,
    which a symbolic link may not lead out of.  The loader parses these bytes and keys
    its compile cache by them, so what is parsed is what the version names."""
    suffix = path.suffix.lower()
    if _outside(path, root):
        raise Refused("E105", "is a symbolic link to a file outside the tables directory, which the "
                              "engine does not follow: copy the workbook into the directory")
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # before open: a named pipe would block it
            raise Refused("E102", "is not a workbook file (a directory, pipe or device named like one)")
        f = open(path, "rb")
    except FileNotFoundError:
        raise Refused("E100", "no longer exists (moved or deleted while reading)") from None
    except OSError as e:
        raise Refused("E100", f"cannot be opened: {e.strerror or e}") from None
    with f:
        st = os.fstat(f.fileno())
        if st.st_size == 0:
            raise Refused("E100", "is empty (0 bytes): it may still be being saved; save it again")
        if st.st_size > limits.max_total_bytes:
            raise over_limit(f"the file is {_mb(st.st_size)} (at most {_mb(limits.max_total_bytes)})")
        if suffix in OTHER_FORMATS:
            raise Refused("E102", OTHER_FORMATS[suffix])
        try:
            data = f.read(limits.max_total_bytes + 1)  # bounded even if it grows meanwhile
        except OSError as e:
            raise Refused("E100", f"cannot be read: {e.strerror or e}") from None
    if not data:
        raise Refused("E100", "is empty (0 bytes): it may still be being saved; save it again")
    if len(data) > limits.max_total_bytes:
        raise over_limit(f"the file is over {_mb(limits.max_total_bytes)}")
    return data


def open_bytes(data: bytes, limits: Limits) -> BoundedZip:
    """A workbook's bytes (``read_file``) opened for openpyxl, or Refused: checked on its
    first bytes and its zip directory (nothing is decompressed)."""
    f = io.BytesIO(data)
    head = data[:4096]
    if not head.startswith(b"PK"):
        raise _not_a_zip(f, head, len(data))
    _check_directory_size(f, len(data), limits)
    try:
        zf = BoundedZip(f, limits)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise Refused("E100", f"is damaged: not a complete zip archive ({_short(e)}); it may have been "
                              "saved only in part: save it again from Excel") from None
    try:
        zf.worksheets = _check_zip(zf, limits)
    except BaseException:
        zf.close()
        raise
    return zf


def open_workbook(path: Path, root: Path | None, limits: Limits) -> BoundedZip:
    """The workbook at ``path`` opened for openpyxl, or Refused.  ``root``: the tables
    directory, which a symbolic link may not lead out of."""
    return open_bytes(read_file(path, root, limits), limits)


# --------------------------------------------------------------------------- errors
def _short(e: BaseException, n: int = 160) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= n else text[:n - 1] + "…"


def _causes(e: BaseException) -> list[BaseException]:
    chain = [e]
    while True:
        nxt = e.__cause__ or (None if e.__suppress_context__ else e.__context__)
        if nxt is None or nxt in chain:
            return chain
        chain.append(nxt)
        e = nxt


def refusal(e: BaseException, part: str = "", sheet: str = "") -> Refused:
    """What openpyxl (or zipfile, or the XML parser) raised on a damaged file → one Refused."""
    from xml.etree.ElementTree import ParseError  # the XML parsers: imported when a workbook is parsed
    from xml.parsers.expat import ExpatError

    from defusedxml import DefusedXmlException
    chain = _causes(e)
    for c in chain:
        if isinstance(c, Refused):
            c.sheet = c.sheet or sheet
            return c
    where = f" in {part}" if part else ""
    for c in chain:
        if isinstance(c, DefusedXmlException):
            return Refused("E105", f"declares XML entities{where}, which Excel never writes and the engine "
                                   "does not expand (a tampered file?): save it again from Excel", sheet)
    root = chain[-1]
    if isinstance(root, (ParseError, ExpatError)):
        return Refused("E100", f"is damaged: malformed XML{where} ({_short(root)}): save it again from Excel",
                       sheet)
    if isinstance(root, (zipfile.BadZipFile, zlib.error, EOFError)):
        return Refused("E100", f"is damaged{where} ({_short(root)}): save it again from Excel", sheet)
    if isinstance(root, KeyError):
        return Refused("E100", f"is damaged: a part it refers to is missing ({_short(root)})", sheet)
    return Refused("E100", f"cannot be read as an Excel workbook (.xlsx){where}: "
                           f"{type(root).__name__}: {_short(root)}", sheet)
