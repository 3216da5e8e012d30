"""The docs say what is true: every relative link in README.md and docs/ resolves, every
file they name in code exists, and every ``decide …`` command quoted in a code block
runs on the shipped tables and examples and prints the output quoted under it.

A quoted output is checked line by line: each line (without its indentation) must be
a line of what the command prints, except lines that elide with "…".  A code block
that shows what a command prints *after an edit* the text describes is preceded by
``<!-- output after the edit above: not checked -->``: its command still runs (on the
unedited tables) and must not fail on bad input (exit 0 or 1).  The commands that
need files the repository does not have are listed in ``NEEDS_FILES``, each with the
reason, so that skipping them is deliberate."""
from __future__ import annotations

import glob
import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from decide.app.cli import main

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
NOT_CHECKED = "<!-- output after the edit above: not checked -->"

# Commands quoted in the docs that need files the repository does not have.
NEEDS_FILES = {
    "decide batch cases.jsonl --decision purchase_restriction -o results.jsonl": "cases.jsonl: the reader's own",
    "decide batch members.parquet -d card_eligibility -o results.parquet --workers 4": "members.parquet: the reader's own",
    "decide batch members.jsonl -d card_eligibility -o results.jsonl --resume": "members.jsonl: the reader's own",
    "decide serve --watch 2 &": "a server left running in the background",
    "decide diff released/ tables/ --generate 200": "released/: a copy of the tables before the edit",
    "decide diff released/ tables/ --generate 200 --format markdown > summary.md":
        "released/: a copy of the tables before the edit",
    "decide my_case.json --tables my_tables/ --decision Limit --format text":
        "my_case.json and my_tables/: the reader's own",
    "decide replay decisions.jsonl --tables tables/": "decisions.jsonl: a service's decision log",
    "decide replay decisions.jsonl --archive archive/": "decisions.jsonl and archive/: a service's log and archive",
}
# Files named in code that the repository does not hold, on purpose.
NAMED_ELSEWHERE = {
    ".github/workflows/decide-review.yml": "where docs/reviewing-changes.md says to copy the workflow",
}


@dataclass
class Quoted:
    doc: Path
    line: int
    command: str
    output: list[str] = field(default_factory=list)
    checked: bool = True


def _blocks(text: str):
    """(first line number, lines, whether the block is marked not checked) of each
    fenced code block."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        m = re.match(r"\s*(```+|~~~+)", lines[i])
        if not m:
            i += 1
            continue
        fence = m.group(1)
        prev = next((lines[k].strip() for k in range(i - 1, -1, -1) if lines[k].strip()), "")
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        yield start + 1, body, prev == NOT_CHECKED


def quoted_commands() -> list[Quoted]:
    out = []
    for doc in DOCS:
        for start, body, not_checked in _blocks(doc.read_text(encoding="utf-8")):
            prompted = any(line.lstrip().startswith("$ ") for line in body)
            current = None
            for k, line in enumerate(body):
                s = line.strip()
                if s.startswith("$ "):
                    current = None
                    if s[2:].startswith("decide "):
                        current = Quoted(doc, start + k, s[2:], checked=not not_checked)
                        out.append(current)
                elif not prompted and s.startswith("decide "):
                    out.append(Quoted(doc, start + k, s))
                elif current is not None and s:
                    current.output.append(s)
    return out


QUOTED = quoted_commands()


def _id(q: Quoted) -> str:
    return f"{q.doc.name}:{q.line}:{q.command}"


def test_the_docs_quote_commands_and_every_skip_is_one_of_them():
    commands = {q.command for q in QUOTED}
    assert len(QUOTED) >= 30
    assert set(NEEDS_FILES) <= commands, set(NEEDS_FILES) - commands
    # every quoted shipped example is run
    assert {f"decide examples/{p.name} --format text" for p in (ROOT / "examples").glob("*.json")} <= commands


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder like the repository's root: tables/ and examples/ (copies, so that a
    command that writes beside them writes in a temporary folder)."""
    d = tmp_path_factory.mktemp("docs")
    shutil.copytree(ROOT / "tables", d / "tables", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    shutil.copytree(ROOT / "examples", d / "examples")
    return d


@pytest.mark.parametrize("q", QUOTED, ids=_id)
def test_quoted_command_runs_and_prints_what_the_docs_show(q: Quoted, workdir, monkeypatch):
    if q.command in NEEDS_FILES:
        pytest.skip(f"needs {NEEDS_FILES[q.command]}")
    monkeypatch.chdir(workdir)
    args = shlex.split(q.command)[1:]
    r = CliRunner().invoke(main, args)
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    where = f"{q.doc.relative_to(ROOT)}:{q.line}: {q.command}"
    if not q.checked:
        assert r.exit_code in (0, 1), f"{where}\n{r.output}"
        return
    assert r.exit_code == 0, f"{where}\n{r.output}"
    printed = {line.strip() for line in r.output.splitlines()}
    missing = [line for line in q.output if "…" not in line and line not in printed]
    assert not missing, f"{where}: the docs show lines it does not print:\n" + "\n".join(missing)


# --------------------------------------------------------------------------- links
def _prose(text: str) -> str:
    """The text without its code blocks and inline code."""
    text = re.sub(r"^\s*(```+|~~~+).*?^\s*\1", "", text, flags=re.S | re.M)
    return re.sub(r"`+[^`]*`+", "", text)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def _anchors(doc: Path) -> set[str]:
    text = doc.read_text(encoding="utf-8")
    text = re.sub(r"^\s*(```+|~~~+).*?^\s*\1", "", text, flags=re.S | re.M)
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.*)$", text, re.M)}


def _links(doc: Path):
    text = _prose(doc.read_text(encoding="utf-8"))
    for m in re.finditer(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text):
        yield m.group(1)
    for m in re.finditer(r"^\s*\[[^\]]+\]:\s*(\S+)", text, re.M):
        yield m.group(1)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(doc: Path):
    checked = 0
    for target in _links(doc):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        dest = (doc.parent / path).resolve() if path else doc
        assert dest.exists(), f"{doc.relative_to(ROOT)}: link to {target}: no such file"
        if anchor and dest.suffix == ".md":
            assert anchor in _anchors(dest), f"{doc.relative_to(ROOT)}: link to {target}: no such heading"
        checked += 1
    if doc.name in ("analyst-guide.md", "reviewing-changes.md"):
        assert checked >= 2


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_files_named_in_code_exist(doc: Path):
    """`docs/workbook-format.md`, `examples/x.json`, `tables/*.xlsx`: a file named in
    inline code with its folder from the repository's root (or a bare ``.md`` name)
    exists; the analyst guide once named a `WORKBOOK_FORMAT.md` that did not."""
    tops = {p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))} | {".github"}
    for m in re.finditer(r"`([\w.*/-]+\.(?:md|py|ya?ml|toml|json|jsonl|xlsx))`", doc.read_text(encoding="utf-8")):
        name = m.group(1)
        top = name.split("/", 1)[0]
        if not (("/" in name and top in tops) or ("/" not in name and name.endswith(".md"))):
            continue
        if name in NAMED_ELSEWHERE:
            continue
        found = glob.glob(str(ROOT / name)) or glob.glob(str(doc.parent / name))
        assert found, f"{doc.relative_to(ROOT)} names `{name}`, which does not exist"
