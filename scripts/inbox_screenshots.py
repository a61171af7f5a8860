"""Screenshots of the web inbox for the README, taken from the demo in headless Chromium.

    .venv/bin/python scripts/inbox_screenshots.py [--dir var/screenshots] [--out docs]

Sets up the demo (as `./run demo` does) in ``--dir``, serves it on 127.0.0.1, signs in as the
demo coordinator and writes ``inbox.png`` and ``patient.png`` into ``--out``. Needs Debian's
chromium (/usr/bin/chromium) and Playwright for Python (the dev extras).
"""

from __future__ import annotations

import argparse
import socket
import threading
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from api.app import create_app
from api.replay.demo import setup_demo
from api.settings import Settings
from api.web.sessions import sign_in_url

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("var/screenshots"))
    parser.add_argument("--out", type=Path, default=Path("docs"))
    options = parser.parse_args()
    setup = setup_demo(options.dir.resolve())
    settings = Settings.from_env(
        database_url=setup.database_url, run_scheduler=False, run_worker=False
    )
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    while not server.started:
        threading.Event().wait(0.05)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    options.out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(sign_in_url(url, setup.sign_in_link))
            page.wait_for_url("**/inbox")
            page.screenshot(path=str(options.out / "inbox.png"))
            page.goto(f"{url}/inbox/patients/{setup.patient_id}")
            page.wait_for_selector("figure.timeline svg")
            page.screenshot(path=str(options.out / "patient.png"), full_page=True)
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=30)
    print(f"wrote {options.out / 'inbox.png'} and {options.out / 'patient.png'}")


if __name__ == "__main__":
    main()
