"""Drives the dashboard of `imi-sync serve` in Debian's chromium (headless) with selenium.

Usage: browser.py URL TOKEN COMMAND... (TOKEN "-" for none). Runs each command in order and
prints one JSON line per command on stdout; the Swift test that started the registry, the
agent and the server checks them:
  rows                      -> {"ids": [...], "merged": [...]}  (data-worktree-id of the rows)
  wait-cell ID COLUMN TEXT  -> {"ok": bool}  until the row's cell shows TEXT (20 s at most)
  wait-pair A:B WORD        -> {"ok": bool, "text": ...}  until the pair cell says WORD
  reloaded                  -> {"reloaded": bool}  whether the page was loaded again
  console                   -> {"errors": [...]}  severe console messages so far
  screenshot PATH           -> {"ok": true}
  edit PATH TEXT            -> {"ok": true}  writes TEXT to the file PATH (an edit in a worktree)
  fetch PATH                -> {"status": n}  a request without the token, outside the page
  activity ID               -> {"items": [...]}  the row's recent activity, opened by its name
  phone PATH                -> {"overflow": bool}  at 390 x 844: wider than the screen? (screenshot)
  dark                      -> {"background": "rgb(...)"}  the page's background in a dark scheme
  hunks A:B PATH            -> {"sides": [...]}  opens the pair, asks for both sides of PATH
  requests                  -> {"documents": n}  the page's requests for /api/inflight,
                               /api/overlaps and /api/snapshot so far (resource timing)
With a TOKEN the page is expected to ask for it (window.prompt) and is given it there.
"""
import json
import sys
import time
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

COLUMNS = {"status": 2, "uncommitted": 3, "ahead": 4, "commit": 5}


def answer(document):
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1200,900"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def give_token(driver, token, seconds=10):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            alert = driver.switch_to.alert
            alert.send_keys(token)
            alert.accept()
            return True
        except NoAlertPresentException:
            time.sleep(0.05)
    return False


def click(driver, selector):
    """Finds and clicks `selector`, again if the page re-rendered in between (a patch event
    replaces the rows: the element found a moment ago is then stale). True when clicked."""
    def attempt():
        found = driver.find_elements(By.CSS_SELECTOR, selector)
        if not found:
            return False
        found[0].click()
        return True
    return bool(until(attempt))


def until(condition, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            value = condition()
            if value:
                return value
        except StaleElementReferenceException:
            pass
        time.sleep(0.05)
    return None


def main():
    url = sys.argv[1]
    token = None if sys.argv[2] == "-" else sys.argv[2]
    driver = browser()
    errors = []
    try:
        driver.get(url)
        if token and not give_token(driver, token):
            answer({"error": "the page never asked for the token"})
        # Gone if the page is ever loaded again: updates must arrive without a reload.
        driver.execute_script("window.imiMarker = 'first load'")
        for line in sys.argv[3:]:
            words = line.split()
            if not words:
                continue
            command = words[0]
            errors += [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
            if command == "rows":
                until(lambda: driver.find_elements(By.CSS_SELECTOR, "tr[data-worktree-id]"), seconds=10)
                rows = driver.find_elements(By.CSS_SELECTOR, "tr[data-worktree-id]")
                answer({
                    "ids": sorted(r.get_attribute("data-worktree-id") for r in rows),
                    "merged": sorted(r.get_attribute("data-worktree-id") for r in rows if r.get_attribute("data-status") == "merged"),
                })
            elif command == "wait-cell":
                worktree, column, text = words[1], COLUMNS[words[2]], " ".join(words[3:])
                selector = 'tr[data-worktree-id="%s"] td' % worktree
                found = until(lambda: (cells := driver.find_elements(By.CSS_SELECTOR, selector)) and text in cells[column].text)
                answer({"ok": bool(found)})
            elif command == "wait-pair":
                pair, word = words[1], words[2]
                selector = '[data-pair="%s"]' % pair
                found = until(lambda: (cells := driver.find_elements(By.CSS_SELECTOR, selector)) and cells[0].text == word and cells[0].text)
                answer({"ok": bool(found), "text": found or None})
            elif command == "reloaded":
                answer({"reloaded": driver.execute_script("return window.imiMarker") != "first load"})
            elif command == "console":
                answer({"errors": [entry.get("message", "") for entry in errors]})
            elif command == "screenshot":
                driver.save_screenshot(words[1])
                answer({"ok": True})
            elif command == "activity":
                click(driver, 'tr[data-worktree-id="%s"] button.name' % words[1])
                found = until(lambda: driver.find_elements(By.CSS_SELECTOR, "#activity li, #activity p"))
                answer({"items": [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#activity li")] if found else None})
            elif command == "phone":
                driver.set_window_size(390, 844)
                time.sleep(0.3)
                overflow = driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth")
                driver.save_screenshot(words[1])
                answer({"overflow": bool(overflow)})
                driver.set_window_size(1200, 900)
            elif command == "dark":
                driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
                answer({"background": driver.execute_script("return getComputedStyle(document.body).backgroundColor")})
                driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})
            elif command == "hunks":
                click(driver, '[data-pair="%s"]' % words[1])
                button = until(lambda: driver.find_elements(By.CSS_SELECTOR, '#pair li[data-path="%s"] button.hunks' % words[2]))
                if not button:
                    answer({"sides": None})
                    continue
                click(driver, '#pair li[data-path="%s"] button.hunks' % words[2])
                found = until(lambda: len(driver.find_elements(By.CSS_SELECTOR, "#pair .sides pre")) == 2)
                answer({"sides": [e.text for e in driver.find_elements(By.CSS_SELECTOR, "#pair .sides pre")] if found else None})
            elif command == "requests":
                answer({"documents": driver.execute_script(
                    "return performance.getEntriesByType('resource')"
                    ".filter(e => /\\/api\\/(inflight|overlaps|snapshot)/.test(e.name)).length")})
            elif command == "edit":
                with open(words[1], "w") as file:
                    file.write(" ".join(words[2:]) + "\n")
                answer({"ok": True})
            elif command == "fetch":
                try:
                    with urllib.request.urlopen(url.rstrip("/") + words[1], timeout=10) as response:
                        answer({"status": response.status})
                except urllib.error.HTTPError as error:
                    answer({"status": error.code})
            else:
                answer({"error": "unknown command " + command})
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
