"""Browser fixtures: one headless Chromium in French per module, the platform it visits, helpers."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import platform_env

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: Where the browser tests write their screenshots; ``make screenshots`` sets it to ``docs/screenshots``.
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(tempfile.gettempdir()) / "connectors-screenshots")
CHROME_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=fr-FR",
                "--use-fake-device-for-media-stream")
#: A fake microphone the page may use without a permission prompt (else prompts are refused).
MICROPHONE_ALLOWED = "--use-fake-ui-for-media-stream"
MICROPHONE_REFUSED = "--deny-permission-prompts"


def new_driver(profile: Path, microphone: bool = True):
    """A headless Chromium in French with a fresh profile, the console kept, and the microphone
    allowed (a fake one) or refused as a person clicking "Block" would."""
    assert shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER), \
        "Install Debian's chromium and chromium-driver (bash .ci/run does)"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROME_FLAGS, MICROPHONE_ALLOWED if microphone else MICROPHONE_REFUSED):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option("prefs", {"intl.accept_languages": "fr-FR,fr"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_page_load_timeout(20)
    browser.set_script_timeout(20)
    return browser


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """One headless Chromium for the module (see :func:`new_driver`)."""
    browser = new_driver(tmp_path_factory.mktemp("chromium-profile"))
    yield browser
    browser.quit()


@pytest.fixture
def site_env() -> dict:
    """Extra environment for the ``site`` fixture (a test module overrides it)."""
    return {}


@pytest.fixture
def site(start_platform, fake_google, tmp_path, driver, site_env):
    """The platform with FRONTEND_URL left unset, so the OAuth callback lands on this dashboard."""
    env = platform_env(f"sqlite:///{tmp_path}/d.db", fake_google, **site_env)
    del env["FRONTEND_URL"]  # defaults to APP_BASE_URL: the platform's own URL
    platform = start_platform(env)
    driver.delete_all_cookies()
    driver.get_log("browser")  # drop what earlier tests left
    yield platform
    problems = [entry["message"] for entry in driver.get_log("browser")
                if entry["level"] == "SEVERE" and not _expected_console_error(entry["message"])]
    assert not problems, f"JavaScript errors in the page: {problems}"


def _expected_console_error(message: str) -> bool:
    """HTTP errors the page handles itself, and the SDK's zod probing for eval, which the CSP refuses."""
    return "Failed to load resource" in message or ("/static/vendor/" in message and "script-src" in message)


def wait(driver, timeout: float = 10):
    """An explicit wait that polls often (the pages are local and fast)."""
    return WebDriverWait(driver, timeout, poll_frequency=0.05,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException))


def text_of(driver, css: str) -> str:
    """The rendered text of the element matching ``css``."""
    return driver.find_element(By.CSS_SELECTOR, css).text


def sign_in(driver, url: str, user: str = "alice", org: str = "acme") -> None:
    """Sign in through the development form and wait for the grid."""
    driver.get(url + "/")
    wait(driver).until(EC.visibility_of_element_located((By.ID, "signin-form")))
    driver.find_element(By.ID, "signin-user").send_keys(user)
    driver.find_element(By.ID, "signin-org").send_keys(org)
    driver.find_element(By.CSS_SELECTOR, "#signin-form button[type=submit]").click()
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#grid [data-key="google_calendar"]'))


def click(driver, element) -> None:
    """Scroll ``element`` to the middle of the window (clear of the orb) and click it."""
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
    element.click()


def confirm_dialog(driver) -> None:
    """Accept the page's confirmation dialog."""
    wait(driver).until(EC.visibility_of_element_located((By.ID, "confirm-dialog")))
    driver.find_element(By.ID, "confirm-ok").click()


def api_get(site, path: str, user: str = "alice", org: str = "acme") -> dict:
    """``GET path`` as ``user``, checked outside the browser."""
    response = requests.get(site.api(path), headers={"Authorization": f"Bearer {site.token(user, org)}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def screenshot(driver, name: str, width: int = 1280) -> Path:
    """A full-page screenshot of the current page in ``SCREENSHOTS/<name>.png``, for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = driver.get_window_size()
    driver.execute_script("window.scrollTo(0, 0)")
    driver.set_window_size(width, max(600, driver.execute_script("return document.documentElement.scrollHeight")))
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(size["width"], size["height"])
    return path


def connect_google_in_browser(driver, site) -> None:
    """Connect Google Calendar from its settings page (the fake Google consents at once)."""
    driver.get(site.url + "/settings/integrations/google-calendar")
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#connector-page[data-status="inactive"]'))
    click(driver, driver.find_element(By.CSS_SELECTOR, '[data-action="connect"]'))
    wait(driver).until(lambda d: d.find_elements(By.CSS_SELECTOR, '#connector-page[data-status="active"]'))


def click_css(driver, css: str) -> None:
    """Click the element matching ``css``, finding it again if a refresh replaced it meanwhile."""
    def clicked(d):
        click(d, d.find_element(By.CSS_SELECTOR, css))
        return True

    wait(driver).until(clicked)


#: axe-core 4.14.1 (MPL-2.0, ``vendor/axe-core.LICENSE``), from the npm package's ``axe.min.js``.
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def accessibility_problems(driver, impacts=("serious", "critical")) -> list[str]:
    """axe-core's violations of the page as it is now, those of ``impacts`` only, one line each."""
    if not driver.execute_script("return Boolean(window.axe)"):
        driver.execute_script(AXE.read_text())
    violations = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations']}).then((r) => done(r.violations), (e) => done(String(e)));""")
    assert isinstance(violations, list), violations
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{[(n['target'], n.get('failureSummary', '')[:160]) for n in v['nodes']][:3]}"
            for v in violations if v["impact"] in impacts]


def tab_to(driver, css: str, limit: int = 120):
    """Press Tab until the focused element matches ``css``; every stop must show its focus."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    for _ in range(limit):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        focused = driver.switch_to.active_element
        if focused.tag_name == "body":  # past the last control, before the browser wraps around
            continue
        outline = driver.execute_script(
            "const s = getComputedStyle(arguments[0]); return s.outlineStyle !== 'none' && s.outlineWidth !== '0px'"
            " || s.boxShadow !== 'none'", focused)
        assert outline, (f"no visible focus on {focused.get_attribute('outerHTML')[:80]}: " + driver.execute_script(
            "const s = getComputedStyle(arguments[0]); return [s.outlineStyle, s.outlineWidth, s.boxShadow,"
            " arguments[0].matches(':focus'), arguments[0].matches(':focus-visible')].join(' | ')", focused))
        if driver.execute_script("return arguments[0].matches(arguments[1])", focused, css):
            return focused
    raise AssertionError(f"{css} cannot be reached with the keyboard")
