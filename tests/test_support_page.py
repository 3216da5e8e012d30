"""The support page of ``decide serve`` (GET /), in a real headless Chromium: fill the
form generated from the Glossary for shipped examples, decide, and read the outcome,
the rules that fired and "what would change it" from the page.

Needs Chromium and its driver from the OS packages
(``apt-get install -y chromium chromium-driver``) and selenium (the test extras);
without them the browser tests are skipped, saying so.  Screenshots of each step are
written to the test's temporary directory (``DECIDE_SCREENSHOTS=dir`` keeps them).
"""
from __future__ import annotations

import io
import json
import os
import shutil
import threading
from pathlib import Path

import pytest

import decide
from decide.app.http import Service
from decide.tools.why import counterfactuals

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def book():
    return decide.load(ROOT / "tables")


def _call(app, method, path, body=b""):
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": str(len(body)),
           "CONTENT_TYPE": "application/json", "wsgi.input": io.BytesIO(body)}  # the page sends JSON
    status = {}
    out = b"".join(app(env, lambda s, h: status.update(s=s, h=dict(h))))
    return int(status["s"][:3]), status["h"]["Content-Type"], out


# --------------------------------------------------------------------------- without a browser
def test_the_page_is_one_self_contained_document(book):
    status, ctype, body = _call(Service(book), "GET", "/")
    html = body.decode("utf-8")
    assert status == 200 and ctype.startswith("text/html")
    assert "<script src" not in html and "<link" not in html and "http://" not in html and "https://" not in html
    assert 'lang="ja"' in html and 'aria-live="polite"' in html


def test_the_form_comes_from_the_glossary(book):
    status, _, body = _call(Service(book), "GET", "/form")
    assert status == 200
    decisions = {d["name"]: d for d in json.loads(body)["decisions"]}
    assert set(decisions) == {"card_eligibility", "purchase_restriction", "decline_diagnosis"}
    fields = {f["field"]: f for f in decisions["card_eligibility"]["inputs"]}
    assert fields["months_of_use"] | {"description": ""} == {
        "field": "months_of_use", "label": "継続利用月数", "type": "integer", "description": "",
        "changeable": "up", "min": 0, "max": 1200}
    assert fields["kyc_status"]["choices"] == ["not_started", "in_review", "rejected", "approved"]


def test_why_answers_and_validates_on_the_server(book):
    app = Service(book)
    facts = json.loads((ROOT / "examples" / "eligibility_recovering.json").read_text())
    facts.pop("decision")
    status, _, body = _call(app, "POST", "/why/card_eligibility",
                            json.dumps({"facts": facts, "want": {"card_status": "issuable"}}).encode())
    data = json.loads(body)
    assert status == 200 and data["outputs"]["card_status"] == "recovering"
    assert data["why"] == json.loads(json.dumps(
        counterfactuals(book, "card_eligibility", facts, {"card_status": "issuable"}).to_dict()))
    assert any(r["annotations"] for r in data["fired"])
    status, _, body = _call(app, "POST", "/why/card_eligibility", b'{"facts": {"months_of_use": -1}}')
    assert status == 400 and json.loads(body)["error"]["field"] == "months_of_use"
    status, _, body = _call(app, "POST", "/why/card_eligibilty", b'{"facts": {}}')
    assert status == 404 and "did you mean" in json.loads(body)["error"]["message"]
    assert _call(app, "GET", "/why/card_eligibility")[0] == 405
    assert _call(app, "POST", "/form")[0] == 405


# --------------------------------------------------------------------------- in Chromium
@pytest.fixture(scope="module")
def server(book):
    from waitress import create_server
    srv = create_server(Service(book), host="127.0.0.1", port=0, threads=4, ident="decide-test")
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.effective_port}/"
    srv.close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extras")
    if not (CHROMIUM and DRIVER):
        pytest.skip("needs Chromium and its driver: apt-get install -y chromium chromium-driver")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,1800",
                "--lang=ja"):
        opts.add_argument(arg)
    from selenium.webdriver.chrome.service import Service as DriverService
    driver = webdriver.Chrome(service=DriverService(executable_path=DRIVER), options=opts)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    keep = os.environ.get("DECIDE_SCREENSHOTS")
    path = Path(keep) if keep else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _wait(driver, css, timeout=20):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(EC.presence_of_element_located((By.CSS_SELECTOR, css)))


def _fill(driver, name, facts):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    Select(driver.find_element(By.ID, "decision")).select_by_value(name)
    for field, value in facts.items():
        e = driver.find_element(By.ID, f"f-{field}")
        if e.tag_name == "select":
            Select(e).select_by_value(json.dumps(value, ensure_ascii=False))
        else:
            e.clear()
            e.send_keys(str(value))


EXAMPLES = [
    ("eligibility_building_history", {"card_status": "issuable"}),
    ("purchase_gift_card_amazon", {"allowed": True}),
    ("decline_several_causes", {"causes": ["unknown"]}),
]


@pytest.mark.parametrize("example,want", EXAMPLES, ids=[e for e, _ in EXAMPLES])
def test_a_support_agent_reads_the_decision_and_what_would_change_it(book, server, browser, shots, example, want):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    facts = json.loads((ROOT / "examples" / f"{example}.json").read_text(encoding="utf-8"))
    name = facts.pop("decision")
    browser.get(server)
    _wait(browser, "body[data-ready]")
    _fill(browser, name, facts)
    browser.find_element(By.ID, "decide").click()
    expected = book.decide(name, facts)
    first = next(iter(expected.outputs))
    _wait(browser, f"#out-{first}")
    browser.save_screenshot(str(shots / f"{example}-1-outcome.png"))
    for field, value in expected.outputs.items():
        shown = browser.find_element(By.ID, f"out-{field}").text
        values = value if isinstance(value, list) else [value]
        for v in values:
            assert (str(v).lower() if isinstance(v, bool) else str(v)) in shown.replace("True", "true").replace(
                "False", "false"), (field, v, shown)
    fired = browser.find_element(By.ID, "fired").text
    for fr in expected.fired:
        assert f"rule {fr.rule} of {fr.table}" in fired
    # what would change it
    for field, value in want.items():
        Select(browser.find_element(By.ID, f"want-{field}")).select_by_value(json.dumps(value, ensure_ascii=False))
    browser.find_element(By.ID, "why-button").click()
    option = _wait(browser, "#why-option-1")
    browser.save_screenshot(str(shots / f"{example}-2-why.png"))
    answer = counterfactuals(book, name, facts, want)
    first_option = answer.options[0]
    rows = option.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert len(rows) == len(first_option.changes)
    for row, change in zip(rows, first_option.changes):
        text = row.text
        assert change.field in text and json.dumps(change.new, ensure_ascii=False) in text.replace("True", "true")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#why .option")) == len(answer.options)


def test_every_field_has_a_label_and_bad_values_are_caught_in_the_browser(server, browser, shots):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    browser.get(server)
    _wait(browser, "body[data-ready]")
    Select(browser.find_element(By.ID, "decision")).select_by_value("card_eligibility")
    controls = browser.find_elements(By.CSS_SELECTOR, "#facts input, #facts select, #wants select")
    assert controls
    for c in controls:
        assert browser.find_elements(By.CSS_SELECTOR, f'label[for="{c.get_attribute("id")}"]'), c.get_attribute("id")
    months = browser.find_element(By.ID, "f-months_of_use")
    months.send_keys("-1")
    browser.find_element(By.ID, "f-app_version").send_keys("six")
    browser.find_element(By.ID, "decide").click()
    _wait(browser, '[aria-invalid="true"]')
    browser.save_screenshot(str(shots / "invalid.png"))
    assert browser.find_element(By.ID, "error").text
    assert browser.find_element(By.ID, "result-empty").is_displayed()  # nothing was decided
