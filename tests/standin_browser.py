"""A stand-in for the person's browser: `webbrowser` runs it through ``BROWSER`` with the URL.

It does what a browser and a person would, as ``STANDIN_BROWSER`` says:

- ``follow`` (default): open the link and follow redirects (the emulator's auto-consent sends
  it straight back to max-tools' loopback listener);
- ``deny``: press Deny on the consent (PostHog's JSON consent with ``allow: false``);
- ``allow``: press Allow on the emulator's HTML consent page, its choices as they stand;
- ``forge-state``: come back to the listener with another state than the one sent;
- ``away``: never come back.

Every URL it opened is appended to the file named by ``STANDIN_BROWSER_LOG``.
"""

from __future__ import annotations

import os
import sys
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx


class _ConsentForm(HTMLParser):
    """What a browser would send for the page's form: its hidden inputs and selected options."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.action = found["action"]
        elif tag == "input" and found.get("type") == "hidden":
            self.fields[found["name"]] = found["value"]
        elif tag == "select":
            self._select = found["name"]
        elif self._select is not None and tag == "option":
            # The first option until one is selected, as a browser submits a <select>.
            chosen = self._select not in self.fields or "selected" in found
            self.fields[self._select] = found["value"] if chosen else self.fields[self._select]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


def main(url: str) -> None:
    with open(os.environ["STANDIN_BROWSER_LOG"], "a", encoding="utf-8") as log:
        log.write(url + "\n")
    mode = os.environ.get("STANDIN_BROWSER", "follow")
    with httpx.Client(timeout=10) as browser:
        if mode == "follow":
            browser.get(url, follow_redirects=True)
        elif mode == "deny":
            params = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
            answer = browser.post(url.split("?", 1)[0], json={**params, "allow": False})
            browser.get(answer.json()["redirect_to"])
        elif mode == "allow":
            form = _ConsentForm()
            form.feed(browser.get(url).text)
            answer = browser.post(urljoin(url, form.action), data={**form.fields, "allow": "true"})
            browser.get(answer.headers["location"])  # raises on a refusal: no redirect
        elif mode == "forge-state":
            location = browser.get(url).headers["location"]
            browser.get(location.replace("state=", "state=forged"))


if __name__ == "__main__":
    main(sys.argv[1])
