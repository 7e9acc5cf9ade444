"""The HTML report in a real browser (headless Chromium, driven by Playwright).

A report with planted divergences is opened from disk; the test checks what a person
would: the diverging case is listed, its grid shows both values, the sharing graph is
drawn, the filters work, and nothing is fetched from the network. It saves a screenshot
to reports/report-screenshot.png. Set HARNESS_REQUIRE_BROWSER=1 (CI does) to fail rather
than skip when Chromium or Playwright is missing.
"""

import os
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the report compares against real PyTorch, absent in this env")

from harness import html_report, results  # noqa: E402
from harness.cases import Case  # noqa: E402
from harness.runner import Runner  # noqa: E402
from tests import mutants  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


def _browser_or_skip():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    missing = "playwright is not installed" if sync_playwright is None else (
        "Debian's chromium is not installed" if CHROMIUM is None else None)
    if missing:
        if os.environ.get("HARNESS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the browser test must run here, but {missing}")
        pytest.skip(f"{missing}; `tox -e browser` in CI runs this test")
    return sync_playwright


def case(case_id, title, code, **fields):
    return Case(id=case_id, title=title, section="9.1", code=code, file="planted.yaml", line=1, code_line=2,
                **fields)


@pytest.fixture(scope="module")
def report_path(tmp_path_factory):
    """A report of three cases: one agrees, one diverges (a view that copies), one drifts."""
    cases = [
        case("agreeing-add", "adding ones agrees", "x = torch.ones(2) + 1\n"),
        case("planted-view-copy", "a <b>view</b> that copies", "x = torch.ones(2, 3)\ny = x.view(6)\nx += 1\n"),
        case("drifting-output", "the document printed something else", "print(torch.ones(1))\n",
             doc_output={"text": "tensor([2.])\n"}),
    ]
    runner = Runner()
    with mutants.applied("view-copies"):
        case_results = [runner.run_case(c) for c in cases]
    run = results.RunResults({"expected": "torch", "actual": "reference_impl"},
                             results.describe_environment(runner.versions()), case_results, [], results.now())
    path = tmp_path_factory.mktemp("report") / "index.html"
    results.write_atomically(path, html_report.render([run]))
    return path


def test_report_reads_right_in_chromium(report_path):
    sync_playwright = _browser_or_skip()
    requests = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda request: requests.append(request.url))
        page.goto(report_path.as_uri())

        diverging = page.locator("#case-planted-view-copy")
        assert diverging.is_visible() and "diverge" in diverging.get_attribute("class")
        assert "a <b>view</b> that copies" in diverging.locator(".title").inner_text()

        cell = diverging.locator("figure.grid td.differs").first
        assert cell.locator(".exp").inner_text() == "2" and cell.locator(".act").inner_text() == "1"

        graphs = diverging.locator("figure.graph")
        assert graphs.count() == 2
        assert graphs.nth(0).locator("line").count() >= 1  # torch: x and y share memory
        assert diverging.locator("line.missing").count() == 1  # reference: the edge is missing

        page.locator("nav button[data-filter=failing]").click()
        assert diverging.is_visible()
        assert not page.locator("#case-agreeing-add").is_visible()
        page.locator("nav button[data-filter=drift]").click()
        assert page.locator("#case-drifting-output").is_visible() and not diverging.is_visible()
        page.locator("nav button[data-filter=all]").click()
        page.fill("#search", "ones agrees")
        assert page.locator("#case-agreeing-add").is_visible() and not diverging.is_visible()
        page.fill("#search", "")

        page.locator("nav button[data-filter=failing]").click()
        (REPO / "reports").mkdir(exist_ok=True)
        page.screenshot(path=str(REPO / "reports" / "report-screenshot.png"), full_page=False)
        browser.close()
    assert [url for url in requests if not url.startswith("file:")] == []
