"""Creating a job through the HTTP API with its own script, voice, rate and aspect ratio."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.support.api_server import ApiServer
from tests.web.test_api import _logged_in_browser


def test_the_api_stores_a_markdown_script_and_the_options(api: ApiServer) -> None:
    body = {
        "format": "short",
        "topic": "owls",
        "script": "# Owls\n\nOwls fly at night. They hoot.\n",
        "voice": "joe",
        "speaking_rate": 1.5,
        "aspect": "1:1",
    }
    with api.client() as http:
        created = http.post("/api/jobs", json=body)
        assert created.status_code == 201, created.text
        shown = http.get(f"/api/jobs/{created.json()['ids'][0]}").json()

    assert shown["job"]["params"] == {
        "script": {
            "title": "Owls",
            "sections": [{"title": "Owls", "sentences": ["Owls fly at night.", "They hoot."]}],
        },
        "voice": "joe",
        "speaking_rate": 1.5,
        "aspect": "1:1",
    }


def test_the_api_refuses_bad_options_with_the_core_message(
    api: ApiServer, web_conn: psycopg.Connection[Any]
) -> None:
    with api.client() as http:
        aspect = http.post("/api/jobs", json={"topic": "refused owls", "aspect": "4:3"})
        script = http.post("/api/jobs", json={"topic": "refused owls", "script": {"sections": []}})
        path = http.post("/api/jobs/batch", files={"file": ("j.jsonl", b'{"script": "/etc/passwd"}\n', "x")})
    assert aspect.status_code == 400 and "4:3" in aspect.json()["error"]
    assert script.status_code == 400 and "at least one section" in script.json()["error"]
    assert path.status_code == 400 and "script must be a JSON script object" in path.json()["error"]
    assert web_conn.execute("SELECT count(*) FROM jobs WHERE topic = 'refused owls'").fetchone() == (0,)


def test_the_new_job_form_takes_a_script_and_the_options(
    api: ApiServer, web_conn: psycopg.Connection[Any]
) -> None:
    http, csrf = _logged_in_browser(api)
    try:
        form = {
            "csrf": csrf,
            "format": "longform",
            "topic": "form owls",
            "aspect": "9:16",
            "voice": "joe",
            "speaking_rate": "0.9",
            "script": "## Night\nOwls fly at night.",
        }
        created = http.post("/jobs/new", data=form)
        refused = http.post("/jobs/new", data={**form, "topic": "form refused", "speaking_rate": "9"})
    finally:
        http.close()

    assert created.status_code == 303, created.text
    row = web_conn.execute("SELECT params FROM jobs WHERE topic = 'form owls'").fetchone()
    assert row is not None and row[0] == {
        "script": {"title": None, "sections": [{"title": "Night", "sentences": ["Owls fly at night."]}]},
        "voice": "joe",
        "speaking_rate": 0.9,
        "aspect": "9:16",
    }
    assert refused.status_code == 400 and "between 0.5 and 2.0" in refused.text
    assert 'value="9"' in refused.text  # the form comes back filled in


def test_the_new_job_forms_draft_box_makes_a_draft_job(
    api: ApiServer, web_conn: psycopg.Connection[Any]
) -> None:
    http, csrf = _logged_in_browser(api)
    try:
        ticked = http.post("/jobs/new", data={"csrf": csrf, "topic": "draft owls", "draft": "on"})
        unticked = http.post("/jobs/new", data={"csrf": csrf, "topic": "final owls"})
        refused = http.post(
            "/jobs/new", data={"csrf": csrf, "topic": "draft refused", "draft": "on", "aspect": "4:3"}
        )
    finally:
        http.close()

    assert ticked.status_code == unticked.status_code == 303
    drafts = dict(web_conn.execute("SELECT topic, params FROM jobs WHERE topic LIKE '% owls'").fetchall())
    assert drafts["draft owls"].get("draft") is True
    assert not drafts["final owls"].get("draft")
    assert refused.status_code == 400
    assert 'id="draft" value="on" checked' in refused.text  # the box stays ticked on the refused form
