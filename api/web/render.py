"""Jinja2 templates of the web inbox, autoescaped, with the filters of present.py."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from api.web import present

ENV = Environment(
    loader=PackageLoader("api.web", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(present.FILTERS)
ENV.globals.update(
    kind_name=lambda kind: present.KIND_NAMES.get(kind, kind),
    event_name=lambda event: present.EVENT_NAMES.get(event, event),
    metric_value=present.value,
    metric_change=present.change,
    age=present.age,
    actor=present.actor,
    phq9_items=present.PHQ9_ITEMS,
    answers_text=present.ANSWERS,
)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(ENV.get_template(template).render(**context), status_code=status_code)
