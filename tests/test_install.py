"""decide as a user installs it: the repository's wheel in a fresh virtual environment,
without extras, its dependencies from the package index.  Every command of the
``decide`` console script runs once from a folder outside the checkout (so nothing
can import from it), the Python API works on the shipped workbooks, the wheel
installs no top-level name but ``decide``, and PyTables (``tables``) works beside it
in one process.

Needs the package index (pip's own cache is reused).  Skips, saying so, only when
the index cannot be reached; any other pip failure fails the test."""
from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

import pytest
from openpyxl import load_workbook

import decide
from tests.workbooks import table, write_workbook

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "tables"
# the environment of every child: nothing may point Python back at the checkout
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
PIP_NETWORK_ERRORS = ("NewConnectionError", "Max retries exceeded", "Temporary failure in name resolution",
                      "Name or service not known", "Network is unreachable", "No route to host",
                      "ConnectTimeoutError", "ReadTimeoutError", "Connection refused", "ProxyError")


def pip(python: Path, *args: str) -> None:
    """Run pip; skip when the failure is the index being out of reach, else fail with pip's output."""
    cmd = [str(python), "-m", "pip", *args, "--disable-pip-version-check", "--timeout", "30", "--retries", "2"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=ENV)
    if r.returncode:
        out = r.stdout + r.stderr
        cause = next((ln.strip() for ln in out.splitlines() if any(e in ln for e in PIP_NETWORK_ERRORS)), None)
        if cause:
            pytest.skip(f"the package index is unreachable, so decide cannot be installed: {cause[:300]}")
        pytest.fail(f"pip {' '.join(args)} failed (exit {r.returncode}):\n{out[-4000:]}")


def source_files() -> list[str]:
    """What a commit of the working tree holds: tracked files and untracked ones git does not ignore."""
    r = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                       capture_output=True, timeout=60)
    if r.returncode:  # not a git checkout: everything but what a build or a run leaves behind
        skip = {".git", ".venv", "build", "dist", "__pycache__", ".pytest_cache", ".hypothesis"}
        return [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*") if p.is_file()
                and not skip & set(p.relative_to(ROOT).parts) and ".egg-info" not in p.as_posix()]
    return [f for f in r.stdout.decode().split("\0") if f and (ROOT / f).is_file()]


@dataclass
class Venv:
    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    @property
    def site(self) -> Path:
        out = subprocess.run([str(self.python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True, timeout=60, env=ENV)
        return Path(out.stdout.strip())

    def run(self, program: str, *args, cwd: Path, stdin: str | None = None, timeout: float = 120):
        return subprocess.run([str(self.path / "bin" / program), *map(str, args)], cwd=cwd, input=stdin,
                              capture_output=True, text=True, timeout=timeout, env=ENV)


def make_venv(where: Path, *requirements: str) -> Venv:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, timeout=180, env=ENV)
    venv = Venv(where)
    pip(venv.python, "install", *requirements)
    return venv


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    for rel in source_files():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, src / rel)
    dist = tmp_path_factory.mktemp("dist")
    pip(Path(sys.executable), "wheel", "--no-deps", "-w", str(dist), str(src))
    (built,) = dist.glob("decide-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Venv:
    return make_venv(tmp_path_factory.mktemp("venv") / "v", str(wheel))


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory) -> Path:
    """The working folder of every command: not the checkout."""
    return tmp_path_factory.mktemp("elsewhere")


@pytest.fixture(scope="module")
def book():
    """The same workbooks loaded in this process from the checkout, to compare with."""
    return decide.load(SHIPPED)


def test_the_wheel_installs_the_decide_name_only(wheel, venv):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"decide"}, tops
    assert {n for n in names if n.endswith(".xlsx")} == \
        {f"decide/atone/tables/{p.name}" for p in SHIPPED.glob("*.xlsx")}
    site = venv.site
    assert (site / "decide" / "atone" / "tables" / "card_eligibility.xlsx").is_file()
    for generic in ("engine", "decisions", "tables", "tests"):
        assert not (site / generic).exists() and not (site / f"{generic}.py").exists(), generic


def test_the_python_api_on_the_shipped_workbooks(venv, elsewhere, tmp_path):
    broken = write_workbook(tmp_path / "broken" / "book.xlsx", glossary=[("amount", "integer", "[0..1000]"),
                                                                          ("ok", "boolean")],
                            tables=[table("Limit", "FRIST", ["INPUT amount", "OUTPUT ok"], [[1, "-", True]])])
    script = tmp_path / "use_decide.py"
    script.write_text(dedent("""\
        import importlib.util, json, sys
        import decide, decide.atone
        from decide.atone.services import SERVICES
        from decide.model.ir import DecisionService

        where = decide.atone.tables_dir()
        assert decide.atone.tables_dir() == where, "a second call finds the same folder"
        book = decide.load(where)
        gift = book.decide("purchase_restriction", {"merchant": "amazon", "category": "gift_card",
                                                    "amount_yen": 5000, "recurring": False})
        own = DecisionService("cashable", ("category",), ("is_cashable",))
        mine = decide.load(where, services=[*SERVICES, own]).decide("cashable", {"category": "e_money"})
        try:
            decide.load(sys.argv[1])
            errors = None
        except decide.WorkbookError as e:
            errors = [[d.code, d.workbook, d.sheet, d.cell] for d in e.diagnostics]
        generic = [n for n in ("engine", "decisions", "tables") if importlib.util.find_spec(n)]
        print(json.dumps({"decide": decide.__file__, "tables": str(where), "gift": gift.to_dict(),
                          "own": mine.outputs, "errors": errors, "generic": generic}, default=str))
        """))
    r = venv.run("python", script, broken.parent, cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    site = str(venv.site)
    assert out["decide"].startswith(site) and out["tables"].startswith(site)
    assert out["gift"]["outputs"]["restriction"] == "cashable" and out["gift"]["outputs"]["allowed"] is False
    assert out["gift"]["fired"][0]["workbook"] == "purchase_restriction.xlsx"
    assert out["own"] == {"is_cashable": True}
    assert ["E123", "book.xlsx", "Limit", "B2"] in out["errors"], out["errors"]
    assert out["generic"] == []


def test_decide_a_case(venv, elsewhere):
    r = venv.run("decide", ROOT / "examples" / "eligibility_issuable.json", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["decision"] == "card_eligibility"
    assert out["outputs"] == {"card_status": "issuable", "reasons": [], "next_steps": []}
    assert out["fired"][-1]["table"] == "CardStatus"
    assert {f["workbook"] for f in out["fired"]} == {"card_eligibility.xlsx"}


def test_batch(venv, elsewhere):
    cases = elsewhere / "cases.jsonl"
    cases.write_text('{"category": "gift_card", "amount_yen": 5000}\n'
                     '{"merchant": "other", "category": "books", "amount_yen": 1200, "recurring": false}\n'
                     "not json\n", encoding="utf-8")
    r = venv.run("decide", "batch", cases, "--decision", "purchase_restriction", cwd=elsewhere)
    assert r.returncode == 1 and "1 of 3 cases failed" in r.stderr, (r.returncode, r.stderr)
    lines = [json.loads(ln) for ln in r.stdout.splitlines()]
    assert [ln.get("outputs", {}).get("restriction") for ln in lines] == ["cashable", "none", None]
    assert lines[2]["line"] == 3 and "not valid JSON" in lines[2]["error"]["message"]


def test_test_command(venv, elsewhere, book):
    r = venv.run("decide", "test", cwd=elsewhere)
    cases = sum(len(s.cases) for s in book.ir.tests)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == f"{cases} passed, 0 failed"


def test_tables_command(venv, elsewhere, book):
    r = venv.run("decide", "tables", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    listed = set(re.findall(r"^  (\w+)", r.stdout, flags=re.M))
    assert listed == set(book.decisions)
    assert r.stdout.startswith("Decision services:\n  card_eligibility\n")


def test_lint_the_shipped_tables_and_a_gap_downstream(venv, elsewhere, tmp_path):
    r = venv.run("decide", "lint", cwd=elsewhere)
    assert r.returncode == 0 and "0 error(s), 0 warning(s)" in r.stdout, r.stdout + r.stderr
    # two chained tables; the downstream one has no rule for band "high"
    chain = tmp_path / "chain"
    write_workbook(chain / "book.xlsx",
                   glossary=[("amount", "integer", "[0..1000000]"), ("band", "text", '"low","mid","high"'),
                             ("ok", "boolean")],
                   tables=[table("Band", "FIRST", ["INPUT amount", "OUTPUT band"],
                                 [[1, "< 3000", '"low"'], [2, "< 50000", '"mid"'], [3, "-", '"high"']]),
                           table("Decide", "UNIQUE", ["INPUT band", "OUTPUT ok"],
                                 [[1, '"low"', True], [2, '"mid"', False]])])
    r = venv.run("decide", "lint", chain, "--format", "json", cwd=elsewhere)
    assert r.returncode == 1, r.stdout + r.stderr
    (gap,) = [d for d in json.loads(r.stdout)["diagnostics"] if d["code"] == "L103"]
    assert (gap["table"], gap["sheet"], gap["witness"]) == ("Decide", "Decide", {"band": "high"})
    facts = gap["decision_case"]["facts"]
    assert facts["amount"] >= 50000
    # the case lint gives reaches the gap: no rule of Decide fires
    r = venv.run("decide", "-", "--decision", "Decide", "--tables", chain, cwd=elsewhere, stdin=json.dumps(facts))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["outputs"] == {"ok": None} and [f["table"] for f in out["fired"]] == ["Band"]


def test_verify(venv, elsewhere, book):
    r = venv.run("decide", "verify", "--examples", 20, cwd=elsewhere)
    n = sum(len(s.properties) for s in book.ir.invariants)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == f"{n} of {n} invariants hold (20 cases each, seed 0); 0 fail"


def test_diff_of_one_edited_cell(venv, elsewhere, tmp_path):
    shipped = venv.site / "decide" / "atone" / "tables"
    new = tmp_path / "new"
    shutil.copytree(shipped, new, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    entry = decide.load(new).ir.tables["TrackRecordSpend"].rules[0].inputs[0]
    wb = load_workbook(new / entry.loc.workbook)
    wb[entry.loc.sheet][entry.loc.cell] = ">= 5000"
    wb.save(new / entry.loc.workbook)
    r = venv.run("decide", "diff", shipped, new, "--generate", 20, cwd=elsewhere)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"rule 1, total_spent_yen [{entry.loc.cell}]: {entry.text} → >= 5000" in r.stdout
    assert re.search(r"^  card_eligibility: [1-9]\d* of \d+ cases change$", r.stdout, flags=re.M), r.stdout


def test_serve(venv, elsewhere, book):
    server = subprocess.Popen([str(venv.path / "bin" / "decide"), "serve", "--port", "0"], cwd=elsewhere, env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in server.stderr], daemon=True).start()
    try:
        ready = lines.get(timeout=60)
        url = re.match(r"decide serve: (http://127\.0\.0\.1:\d+) ", ready)
        assert url, ready
        with urllib.request.urlopen(url[1] + "/health", timeout=10) as resp:
            health = json.load(resp)
        assert health["status"] == "ok" and health["decisions"] == len(book.decisions)
        os.kill(server.pid, signal.SIGINT)
        assert server.wait(timeout=20) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=20)


def test_pytables_beside_decide_in_one_process(wheel, tmp_path_factory, elsewhere):
    venv = make_venv(tmp_path_factory.mktemp("venv_pytables") / "v", str(wheel), "tables")
    script = elsewhere / "pytables_and_decide.py"
    script.write_text(dedent("""\
        import json, sys
        import tables
        import decide, decide.atone

        class Purchase(tables.IsDescription):
            merchant = tables.StringCol(16)
            category = tables.StringCol(32)
            amount_yen = tables.Int64Col()
            recurring = tables.BoolCol()

        with tables.open_file(sys.argv[1], "w") as h5:
            t = h5.create_table("/", "purchases", Purchase)
            for m, c, a, r in [("amazon", "gift_card", 5000, False), ("other", "books", 1200, False),
                               ("other", "subscription", 980, True)]:
                row = t.row
                row["merchant"], row["category"], row["amount_yen"], row["recurring"] = m, c, a, r
                row.append()
        book = decide.load(decide.atone.tables_dir())
        with tables.open_file(sys.argv[1]) as h5:
            cases = [{"merchant": r["merchant"].decode(), "category": r["category"].decode(),
                      "amount_yen": int(r["amount_yen"]), "recurring": bool(r["recurring"])}
                     for r in h5.root.purchases]
        print(json.dumps({"pytables": tables.__file__, "decide": decide.__file__, "restrictions":
                          [book.decide("purchase_restriction", c).outputs["restriction"] for c in cases]}))
        """))
    r = venv.run("python", script, elsewhere / "purchases.h5", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    site = str(venv.site)
    assert out["pytables"] == f"{site}/tables/__init__.py" and out["decide"] == f"{site}/decide/__init__.py"
    assert out["restrictions"] == ["cashable", "none", "recurring_billing"]
    # the CLI still finds decide's own workbooks, not the `tables` package beside it
    r = venv.run("decide", "tables", cwd=elsewhere)
    assert r.returncode == 0 and r.stdout.startswith("Decision services:\n  card_eligibility\n"), r.stderr
