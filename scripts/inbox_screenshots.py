"""Screenshots of the web inbox for the README, taken from the demo in headless Chromium.

    .venv/bin/python -m scripts.inbox_screenshots [--dir var/screenshots] [--out docs]

Sets up the demo (as `./run demo` does) in ``--dir``, serves it on 127.0.0.1, signs in as the
demo coordinator and writes ``inbox.png`` and ``patient.png`` into ``--out``. Needs Debian's
chromium (/usr/bin/chromium) and Playwright for Python (the dev extras).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

from api.app import create_app
from api.replay.demo import setup_demo
from api.settings import Settings
from api.web.sessions import sign_in_url
from tests.browser import CHROMIUM, LAUNCH_ARGS, served


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("var/screenshots"))
    parser.add_argument("--out", type=Path, default=Path("docs"))
    options = parser.parse_args()
    setup = setup_demo(options.dir.resolve())
    settings = Settings.from_env(
        database_url=setup.database_url, run_scheduler=False, run_worker=False
    )
    options.out.mkdir(parents=True, exist_ok=True)
    with served(create_app(settings)) as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(sign_in_url(url, setup.sign_in_link))
        page.wait_for_url("**/inbox")
        page.screenshot(path=str(options.out / "inbox.png"))
        page.goto(f"{url}/inbox/patients/{setup.patient_id}")
        page.wait_for_selector("figure.timeline svg")
        page.screenshot(path=str(options.out / "patient.png"), full_page=True)
        browser.close()
    print(f"wrote {options.out / 'inbox.png'} and {options.out / 'patient.png'}")


if __name__ == "__main__":
    main()
