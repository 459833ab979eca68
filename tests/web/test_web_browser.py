"""`crm web` in a real browser: Debian's chromium, headless, driven by Selenium through
the system chromedriver (no browser download). One server (waitress, the one `crm web`
runs) on one local stack serves the whole module; tests run in file order."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import XSS_SUBJECT, running_stack

CHROMIUM = os.environ.get("CRM_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CRM_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
# the README's picture: CRM_WEB_SCREENSHOT=docs/web-pipeline.png pytest tests/web/test_web_browser.py -k pipeline
SCREENSHOT = os.environ.get("CRM_WEB_SCREENSHOT")


def _missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).is_file() or shutil.which(path)):
            return f"no {path}: `apt-get install -y chromium chromium-driver` (Debian package {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


pytestmark = [pytest.mark.browser, pytest.mark.skipif(_missing() is not None, reason=str(_missing()))]


@pytest.fixture(scope="module")
def server(demo_state: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from crm.web.server import serving

    with running_stack(demo_state, tmp_path_factory.mktemp("web-browser")) as stack, serving(stack.svc) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,900",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _detached(element: Any) -> bool:
    """Whether the page ``element`` was on is gone. Selenium's ``staleness_of`` waits for
    a stale-element error, but chromedriver, asked in the middle of the navigation, may
    instead answer that the node "does not belong to the document": gone as well."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as exc:
        if "does not belong to the document" in str(exc):
            return True
        raise
    return False


def navigate(browser: Any, element: Any) -> None:
    """Click what leaves the page, then wait for the next one: a click returns before the
    browser has navigated, and a loaded machine shows the old page for a while."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    old = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 30).until(lambda _b: _detached(old))
    WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.readyState") == "complete")


def rows(browser: Any) -> list[Any]:
    from selenium.webdriver.common.by import By

    return browser.find_elements(By.CSS_SELECTOR, "tr.conversation")


def no_alert(browser: Any) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    try:
        text = browser.switch_to.alert.text
    except NoAlertPresentException:
        return
    pytest.fail(f"a script from a mail ran: alert {text!r}")


def console_errors(browser: Any) -> list[str]:
    """What the console logged as errors (a CSP violation is one)."""
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def test_pipeline_shows_the_demo_grouped_by_status(browser: Any, server: str, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    assert browser.title == "Pipeline · crm web"
    groups = [g.get_attribute("data-status") for g in browser.find_elements(By.CSS_SELECTOR, "section.group")]
    assert groups == ["new", "replied"]
    assert len(rows(browser)) == 5
    subjects = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "a.subject")]
    assert "Staff Platform Engineer role at Acme Robotics" in subjects
    assert XSS_SUBJECT in subjects  # the hostile subject, as text
    no_alert(browser)
    assert browser.execute_script("return document.querySelectorAll('script:not([src])').length") == 0
    assert console_errors(browser) == []  # the stylesheet and app.js load under the CSP, nothing is refused
    shot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "pipeline.png"
    assert browser.save_screenshot(str(shot)) and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_filter_by_company(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    field = browser.find_element(By.CSS_SELECTOR, "#filters input[name=company]")
    field.send_keys("Acme Robotics")
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "#filters button[type=submit]"))
    assert "company=Acme+Robotics" in browser.current_url
    found = rows(browser)
    assert len(found) == 1
    assert found[0].find_element(By.CSS_SELECTOR, "td.company").text == "Acme Robotics"


def test_open_a_conversation(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/?company=Acme+Robotics")
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "a.subject"))
    assert browser.find_element(By.ID, "subject").text == "Staff Platform Engineer role at Acme Robotics"
    assert browser.find_element(By.ID, "status").text == "replied"
    assert "company Acme Robotics (+20)" in browser.find_element(By.ID, "score").text
    types = [e.get_attribute("class") for e in browser.find_elements(By.CSS_SELECTOR, "#timeline li")]
    assert "event MessageReceived" in types and "event ReplyDelivered" in types
    assert browser.find_elements(By.CSS_SELECTOR, "pre.attachment")  # the job description's first lines


def test_hostile_mail_renders_as_text_and_runs_nothing(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    link = next(a for a in browser.find_elements(By.CSS_SELECTOR, "a.subject") if a.text == XSS_SUBJECT)
    navigate(browser, link)
    no_alert(browser)
    assert browser.find_element(By.ID, "subject").text == XSS_SUBJECT
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "a.read"))
    no_alert(browser)
    part = browser.find_element(By.CSS_SELECTOR, "pre.part").text
    assert "<script>alert(2)</script>" in part and "<img src=x onerror=alert(4)>" in part
    assert browser.find_elements(By.ID, "injected") == []
    assert browser.execute_script("return document.images.length") == 0


def test_release_a_quarantined_mail_and_see_it_in_the_pipeline(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/?contact=bob@smithconsulting.io")
    assert rows(browser) == []
    browser.get(server + "/quarantine")
    row = next(
        r
        for r in browser.find_elements(By.CSS_SELECTOR, "tr.quarantined")
        if r.find_element(By.CSS_SELECTOR, "td.subject").text == "Partnership inquiry"
    )
    navigate(browser, row.find_element(By.CSS_SELECTOR, "button.release"))
    flash = browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert flash.startswith("released ") and "accepted" in flash
    browser.get(server + "/")
    subjects = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "a.subject")]
    assert "Partnership inquiry" in subjects
    assert len(rows(browser)) == 6


def test_a_post_without_the_token_is_refused(browser: Any, server: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/followups")
    # the page's own form, its token taken out: what a forged cross-site form would send
    browser.execute_script("document.querySelector('#run-followups input[name=csrf_token]').remove()")
    navigate(browser, browser.find_element(By.CSS_SELECTOR, "#run-followups button"))
    assert "CSRF" in browser.find_element(By.ID, "error").text


def test_csp_blocks_an_injected_inline_script(browser: Any, server: str) -> None:
    browser.get(server + "/")
    browser.get_log("browser")  # drop what came before
    # an inline script added to the page (what an unescaped field would be) does not run
    browser.execute_script("""
        var s = document.createElement('script'); s.textContent = 'window.injected = 1'; document.body.appendChild(s);
    """)
    assert browser.execute_script("return window.injected === undefined")
    assert any("Content Security Policy" in message for message in console_errors(browser))
