"""Driving the dashboard in headless Chromium (Debian's chromium and chromium-driver through
python3-selenium): a fresh profile per browser, viewports set through the DevTools protocol,
full-page screenshots, the clipboard read back, and the browser's console checked for script
errors and Content-Security-Policy violations."""
import base64
import os
import shutil
import tempfile
import time

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
HERE = os.path.dirname(os.path.abspath(__file__))
SHOTS = os.path.join(HERE, "..", "..", "build", "ui-screenshots")
DESKTOP = (1366, 900)
PHONE = (390, 844)


class Browser:
    """One headless Chromium with its own profile directory, removed when closed."""

    def __init__(self):
        for path in (CHROMIUM, CHROMEDRIVER):
            assert os.access(path, os.X_OK), f"{path} is missing (scripts/deps.sh installs it)"
        self.profile = tempfile.mkdtemp(prefix="ensign-ui-chromium-")
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--no-default-browser-check",
                    "--disable-extensions", f"--user-data-dir={self.profile}",
                    f"--window-size={DESKTOP[0]},{DESKTOP[1]}"]:
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        self.d.set_script_timeout(30)
        self.console = []
        self.viewport(*DESKTOP)

    def close(self):
        try:
            self.d.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # --- viewport and pictures ---------------------------------------------------------------

    def viewport(self, width, height, mobile=False):
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        self.settle()

    def settle(self):
        """Waits two animation frames, so layout and resize observers have run."""
        self.d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));")

    def screenshot(self, name):
        """build/ui-screenshots/NAME-desktop.png (1366 wide) and NAME-phone.png (390 wide), each
        of the whole page; the viewport is desktop again afterwards."""
        os.makedirs(SHOTS, exist_ok=True)
        paths = []
        # A passing notice would sit in the middle of a whole-page picture: let it go first.
        self.d.execute_script("const t = document.getElementById('toast'); if (t) t.textContent = ''")
        for label, (w, hgt), mobile in (("desktop", DESKTOP, False), ("phone", PHONE, True)):
            self.viewport(w, hgt, mobile)
            # with a dialog open, what is seen is the screen; else the whole page
            top, full = self.d.execute_script(
                "return document.querySelector('dialog[open]') ? [window.scrollY, window.innerHeight]"
                " : [0, Math.max(document.documentElement.scrollHeight, document.body.scrollHeight,"
                " window.innerHeight)]")
            shot = self.d.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": top == 0,
                "clip": {"x": 0, "y": top, "width": w, "height": min(full, 6000), "scale": 1}})
            path = os.path.join(SHOTS, f"{name}-{label}.png")
            with open(path, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
            paths.append(path)
        self.viewport(*DESKTOP)
        return paths

    # --- the page ------------------------------------------------------------------------------

    def get(self, url):
        self.d.get(url)

    def css(self, selector):
        return self.d.find_element(By.CSS_SELECTOR, selector)

    def all(self, selector):
        return self.d.find_elements(By.CSS_SELECTOR, selector)

    def wait(self, what, cond, timeout=30.0):
        """Polls cond() until it returns something true (stale elements and missing ones count as
        not yet); that value, or an AssertionError naming what was awaited."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                v = cond()
                if v:
                    return v
            except StaleElementReferenceException as e:
                last = e
            except Exception as e:  # noqa: BLE001 - a missing element is "not yet"
                last = e
            time.sleep(0.1)
        try:
            logs = self.d.get_log("browser")
            self.console.extend(logs)
        except Exception:  # noqa: BLE001
            logs = []
        os.makedirs(SHOTS, exist_ok=True)
        self.d.save_screenshot(os.path.join(SHOTS, "failure.png"))
        html = self.d.execute_script("return document.body.outerHTML")
        raise AssertionError(f"timed out waiting for {what} (last: {last!r}); at {self.d.current_url}; "
                             f"console: {logs}; page text: {self.text()[:2000]}; "
                             f"page: {html[:1500]} ... {html[-2500:]}")

    def wait_css(self, selector, timeout=30.0):
        return self.wait(selector, lambda: next(
            (e for e in self.all(selector) if e.is_displayed()), None), timeout)

    def button(self, text, within=None, timeout=30.0):
        """The displayed button whose text (or aria-label) is text."""
        root = within or self.d

        def find():
            for b in root.find_elements(By.CSS_SELECTOR, "button"):
                if b.is_displayed() and (b.text.strip() == text or b.get_attribute("aria-label") == text):
                    return b
            return None
        return self.wait(f"button {text!r}", find, timeout)

    def buttons(self, within=None):
        root = within or self.d
        return [b for b in root.find_elements(By.CSS_SELECTOR, "button") if b.is_displayed()]

    def text(self):
        try:
            return self.css("body").text
        except Exception:  # noqa: BLE001
            return ""

    def field_error(self, control):
        """The error shown beside a form control (its aria-describedby error paragraph)."""
        ids = (control.get_attribute("aria-describedby") or "").split()
        for i in ids:
            if i.endswith("-err"):
                el = self.d.find_element(By.ID, i)
                return el.text if el.is_displayed() else ""
        return ""

    def alert_open(self):
        try:
            self.d.switch_to.alert
            return True
        except NoAlertPresentException:
            return False

    # --- clipboard -----------------------------------------------------------------------------

    def allow_clipboard(self, origin):
        self.d.execute_cdp_cmd("Browser.grantPermissions", {
            "origin": origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})

    def clipboard(self):
        return self.d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "navigator.clipboard.readText().then(done, (e) => done('clipboard error: ' + e));")

    # --- console -------------------------------------------------------------------------------

    def console_problems(self):
        """Script errors and CSP violations logged since the last call (a failed HTTP status of
        an API call is logged too, and is not a problem: the page shows those)."""
        for entry in self.d.get_log("browser"):
            self.console.append(entry)
        bad = [e for e in self.console if e.get("level") == "SEVERE"
               and "the server responded with a status of" not in e.get("message", "")]
        self.console = []
        return bad
