"""A coordinator's day in a real browser: headless Debian Chromium driven by Playwright
against `phenowatch serve`'s app on 127.0.0.1, with axe-core (vendored) checking each page.

Skipped with the reason when Chromium or Playwright is absent (CI installs Chromium)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.clock import SystemClock
from api.db import make_engine, make_session_factory
from api.migrations import upgrade
from api.services import patients, tokens
from api.services.alerts import open_alert
from api.services.nights import store_nights
from api.services.phq9 import submit_phq9
from api.settings import Settings
from api.unit_of_work import unit_of_work
from tests.api.serve_data import nights_frame, phq9_frame, signal
from tests.browser import CHROMIUM, LAUNCH_ARGS, served

AXE = Path(__file__).resolve().parents[2] / "api/web/static/vendor/axe-core/axe.min.js"

if not CHROMIUM.is_file():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install Debian's (apt-get install chromium) to run the "
        "browser tests",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is absent")
uvicorn = pytest.importorskip("uvicorn")


@dataclass
class Site:
    url: str
    coord_a: str
    coord_b: str
    item9_alert: int


def _seed(url: str) -> tuple[str, str, int]:
    """Team A (p1: a fortnight of nights, an item-9 answer an hour ago; p2: a moderate alert)
    and team B (p3); returns both coordinators' tokens and the item-9 alert's id."""
    engine = make_engine(url)
    upgrade(engine)
    now = SystemClock().now()
    clock = SystemClock()
    with unit_of_work(make_session_factory(engine), clock=clock) as work:
        s = work.session
        team_a = patients.create_team(s, name="Team A", now=now)
        team_b = patients.create_team(s, name="Team B", now=now)
        a = patients.create_user(s, email="a@care.example", name="Ana", role="coordinator", now=now)
        b = patients.create_user(s, email="b@care.example", name="Bo", role="coordinator", now=now)
        patients.add_member(s, user_id=a.id, team_id=team_a.id, now=now)
        patients.add_member(s, user_id=b.id, team_id=team_b.id, now=now)
        for pid, team in (("p1", team_a), ("p2", team_a), ("p3", team_b)):
            patients.create_patient(s, patient_id=pid, team_id=team.id, now=now)
        days = [now.date() - timedelta(days=d) for d in range(1, 15)]
        rows = [
            {"date": d, "sleep_total_min": 400.0 + 5 * i, "resting_hr_bpm": 60.0, "steps": 6000.0,
             "has_sleep": True, "has_resting_hr": True, "has_steps": True}
            for i, d in enumerate(days)
        ]  # fmt: skip
        store_nights(s, patient_id="p1", nights=nights_frame("p1", rows), now=now)
        open_alert(work, signal=signal("p2", fired_on=now.date()), now=now - timedelta(hours=5))
        answered = now - timedelta(hours=1)
        opened = submit_phq9(
            work, patient_id="p1", entries=phq9_frame("p1", answered, [2] * 8 + [1]), actor="test",
            now=answered,
        )  # fmt: skip
        item9 = next(alert.id for alert in opened if alert.kind == "phq9_safety")
        secret_a = tokens.issue_token(s, now=now, user_id=a.id)[1]
        secret_b = tokens.issue_token(s, now=now, user_id=b.id)[1]
    engine.dispose()
    return secret_a, secret_b, item9


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'phenowatch.sqlite'}"
    coord_a, coord_b, item9 = _seed(url)
    settings = Settings(
        database_url=url, run_worker=False, run_scheduler=False, spool_dir=folder / "spool"
    )
    with served(create_app(settings)) as url:
        yield Site(url, coord_a, coord_b, item9)


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, site: Site) -> Iterator[Any]:
    context = browser.new_context(base_url=site.url)
    # nothing may leave 127.0.0.1: any other request fails the test
    outside: list[str] = []

    def refuse(route: Any) -> None:
        outside.append(route.request.url)
        route.abort()

    context.route(lambda url: not url.startswith(site.url), refuse)
    tab = context.new_page()
    yield tab
    context.close()
    assert outside == []


def sign_in(page: Any, token: str) -> None:
    page.goto("/inbox")
    page.get_by_label("Your coordinator token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/inbox")


def serious_violations(page: Any) -> list[str]:
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run()).violations.map("
        "v => [v.id, v.impact, v.nodes.map(n => n.target.join(' ')).slice(0, 3).join(', ')])"
    )
    return [
        f"{i} ({impact}): {where}"
        for i, impact, where in found
        if impact in ("serious", "critical")
    ]


def test_a_coordinator_works_an_item_9_alert_from_sign_in_to_sign_out(
    page: Any, site: Site
) -> None:
    sign_in(page, site.coord_a)
    first = page.locator("table.alerts tbody tr").first
    assert first.get_attribute("id") == f"alert-{site.item9_alert}"
    assert "PHQ-9 item 9" in first.inner_text()
    assert serious_violations(page) == []

    first.get_by_role("button", name="Acknowledge").click()
    sync_api.expect(page.locator(f"#alert-{site.item9_alert}")).to_contain_text("Acknowledged")
    page.locator(f"#alert-{site.item9_alert}").get_by_role("button", name="Assign to me").click()
    sync_api.expect(page.locator(f"#alert-{site.item9_alert}")).to_contain_text("Ana")

    page.locator(f"#alert-{site.item9_alert} td.sentence a").click()
    assert "item 9" in page.locator(".sentence-big").inner_text()
    assert page.locator(".safety table tr.is-item9").inner_text().startswith("9")
    assert serious_violations(page) == []
    page.get_by_label("Note (required): what was done").fill("Called; safety plan reviewed.")
    page.get_by_role("button", name="Resolve").click()
    sync_api.expect(page.get_by_role("status")).to_have_text("Alert resolved.")
    history = page.locator("table.history").inner_text()
    assert "Acknowledged" in history and "Assigned" in history
    assert "Called; safety plan reviewed." in history

    page.get_by_role("link", name="Open patient p1's timeline").click()
    sync_api.expect(page.locator('svg[aria-label="timeline of patient p1"]')).to_be_visible()
    assert serious_violations(page) == []
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My patients").click()
    assert page.locator("table.patients tbody tr").count() == 2
    assert serious_violations(page) == []

    page.get_by_role("button", name="Sign out").click()
    sync_api.expect(page.get_by_role("status")).to_contain_text("signed out")
    page.goto(f"/inbox/alerts/{site.item9_alert}")
    assert "/inbox/sign-in" in page.url


def test_another_team_sees_none_of_it_and_a_form_without_its_token_is_refused(
    page: Any, site: Site
) -> None:
    sign_in(page, site.coord_b)
    assert page.locator("table.alerts").count() == 0
    assert "No alerts match" in page.locator("#inbox-results").inner_text()
    assert page.goto(f"/inbox/alerts/{site.item9_alert}").status == 404
    assert page.goto("/inbox/patients/p1").status == 404
    assert serious_violations(page) == []
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, site.coord_a)
    page.goto("/inbox?status=open")
    row = page.locator("table.alerts tbody tr").first
    alert_id = row.get_attribute("id").removeprefix("alert-")
    page.goto(f"/inbox/alerts/{alert_id}")
    page.locator("#resolve input[name=csrf_token]").evaluate("input => input.remove()")
    page.get_by_label("Note (required): what was done").fill("no token")
    with page.expect_response(f"**/inbox/alerts/{alert_id}/resolve") as answer:
        page.get_by_role("button", name="Resolve").click()
    assert answer.value.status == 403
    assert "did not come from phenowatch" in page.get_by_role("alert").inner_text()
    page.goto(f"/inbox/alerts/{alert_id}")
    assert "Resolve" in page.get_by_role("button", name="Resolve").inner_text()


def test_the_api_docs_load_offline(page: Any) -> None:
    page.goto("/docs")
    sync_api.expect(page.get_by_text("/v1/alerts/{alert_id}/assign").first).to_be_visible()
    page.goto("/redoc")
    sync_api.expect(page.get_by_role("heading", name="phenowatch (0.1.0)")).to_be_visible()
    sync_api.expect(page.get_by_role("menuitem", name="alerts")).to_be_visible()
