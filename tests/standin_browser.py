"""A stand-in for the person's browser: `webbrowser` runs it through ``BROWSER`` with the URL.

It does what a browser and a person would, as ``STANDIN_BROWSER`` says:

- ``follow`` (default): open the link and follow redirects (the emulator's auto-consent sends
  it straight back to max-tools' loopback listener);
- ``deny``: press Deny on the consent (PostHog's JSON consent with ``allow: false``);
- ``forge-state``: come back to the listener with another state than the one sent;
- ``away``: never come back.

Every URL it opened is appended to the file named by ``STANDIN_BROWSER_LOG``.
"""

from __future__ import annotations

import os
import sys
from urllib.parse import parse_qs, urlsplit

import httpx


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
        elif mode == "forge-state":
            location = browser.get(url).headers["location"]
            browser.get(location.replace("state=", "state=forged"))


if __name__ == "__main__":
    main(sys.argv[1])
