"""The HTTP API through a real client against a real `sf api` process and the test's Postgres."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.support.api_server import ApiServer, register_file
from tests.support.children import SF
from tests.web.conftest import JAEGER

Conn = psycopg.Connection[Any]


def _statuses(conn: Conn, job_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT status FROM job_stages WHERE job_id = %s ORDER BY position", [job_id]
    ).fetchall()
    return [str(r[0]) for r in rows]


def _job_count(conn: Conn) -> int:
    row = conn.execute("SELECT count(*) FROM jobs").fetchone()
    assert row is not None
    return int(row[0])


def test_create_list_and_show_a_job(api: ApiServer) -> None:
    with api.client() as http:
        created = http.post("/api/jobs", json={"format": "short", "topic": "owls", "length_seconds": 20})
        assert created.status_code == 201, created.text
        job_id = created.json()["ids"][0]

        listed = http.get("/api/jobs", params={"format": "short", "limit": 10}).json()
        assert listed["jobs"][0]["id"] == job_id  # newest first

        shown = http.get(f"/api/jobs/{job_id}").json()
    assert shown["job"]["topic"] == "owls"
    assert shown["job"]["params"] == {"length_seconds": 20}
    assert [s["stage"] for s in shown["job"]["stage_details"]] == ["audio", "visuals", "render"]
    assert shown["artifacts"] == []


def test_filters_and_pages_jobs(api: ApiServer) -> None:
    with api.client() as http:
        new_before = http.get("/api/jobs", params={"status": "NEW"}).json()["total"]
        # Only this test makes longform jobs in this module's database.
        http.post("/api/jobs", json={"format": "longform", "topic": "rain", "count": 3}).raise_for_status()
        http.post("/api/jobs", json={"format": "short", "topic": "owls"}).raise_for_status()
        first = http.get("/api/jobs", params={"format": "longform", "limit": 2}).json()
        second = http.get("/api/jobs", params={"format": "longform", "limit": 2, "offset": 2}).json()
        new_after = http.get("/api/jobs", params={"status": "NEW"}).json()["total"]
    assert first["total"] == 3 and len(first["jobs"]) == 2 and len(second["jobs"]) == 1
    assert {j["format"] for j in first["jobs"] + second["jobs"]} == {"longform"}
    assert new_after == new_before + 4


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"topic": "   "}, "topic must not be empty"),
        ({"topic": "a\x00b"}, "found U+0000"),
        ({"format": "short", "length_seconds": 600}, "between 10 and 59"),
    ],
)
def test_create_applies_the_same_rules_as_sf_new_job(
    api: ApiServer, web_conn: Conn, body: dict[str, Any], message: str
) -> None:
    before = _job_count(web_conn)
    with api.client() as http:
        response = http.post("/api/jobs", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert _job_count(web_conn) == before


def test_a_write_without_the_token_is_refused(api: ApiServer, web_conn: Conn) -> None:
    before = _job_count(web_conn)
    with api.client(auth=False) as http:
        anonymous = http.post("/api/jobs", json={"topic": "owls"})
        wrong = http.post("/api/jobs", json={"topic": "owls"}, headers={"Authorization": "Bearer nope"})
        cross_site = http.post("/api/jobs", json={"topic": "owls"}, headers={"Origin": "http://evil.example"})
        reading = http.get("/api/jobs")
    assert anonymous.status_code == 401
    assert wrong.status_code == 401
    assert cross_site.status_code in (401, 403)
    assert reading.status_code == 200
    assert _job_count(web_conn) == before


def test_batch_upload_stores_every_line_or_none(api: ApiServer, web_conn: Conn) -> None:
    good = b"format,topic,length_seconds\nshort,owls,30\nsleepy,rain,\n"
    bad = b"format,topic,length_seconds\nshort,owls,30\nshort,too long,600\n"
    before = _job_count(web_conn)
    with api.client() as http:
        created = http.post("/api/jobs/batch", files={"file": ("jobs.csv", good, "text/csv")})
        refused = http.post("/api/jobs/batch", files={"file": ("more.csv", bad, "text/csv")})
        wrong_kind = http.post("/api/jobs/batch", files={"file": ("jobs.txt", good, "text/plain")})
    assert created.status_code == 201 and len(created.json()["ids"]) == 2
    assert refused.status_code == 400
    assert refused.json()["error"].startswith("more.csv, line 3:")
    assert wrong_kind.status_code == 400
    assert _job_count(web_conn) == before + 2


def test_cancel_and_retry_change_the_stages(api: ApiServer, web_conn: Conn) -> None:
    with api.client() as http:
        job_id = http.post("/api/jobs", json={"topic": "owls"}).json()["ids"][0]
        cancelled = http.post(f"/api/jobs/{job_id}/cancel").json()
        assert _statuses(web_conn, job_id) == ["CANCELLED"] * 3
        retried = http.post(f"/api/jobs/{job_id}/retry").json()
        missing = http.post(f"/api/jobs/{uuid.uuid4()}/cancel")
    assert cancelled["stages"] == ["audio", "visuals", "render"]
    assert retried["stages"] == ["audio", "visuals", "render"]
    assert _statuses(web_conn, job_id) == ["NEW"] * 3
    assert missing.status_code == 404


def test_status_and_workers(api: ApiServer) -> None:
    with api.client() as http:
        http.post("/api/jobs", json={"topic": "owls"}).raise_for_status()
        status = http.get("/api/status").json()["status"]
        workers = http.get("/api/workers").json()
    assert status["totals"]["NEW"] >= 3
    assert [s["stage"] for s in status["stages"]] == ["audio", "visuals", "render"]
    assert workers["workers"] == []


def test_artifact_download_supports_range_and_content_types(
    api: ApiServer, web_db_url: str, tmp_path: Path
) -> None:
    with api.client() as http:
        job_id = http.post("/api/jobs", json={"topic": "owls"}).json()["ids"][0]
    video = tmp_path / "video.mp4"
    video.write_bytes(bytes(range(256)) * 40)  # 10,240 bytes
    captions = tmp_path / "captions.srt"
    captions.write_text("1\n00:00:00,000 --> 00:00:01,500\nHello <there>\n", encoding="utf-8")
    register_file(web_db_url, api.artifact_dir, job_id, stage="render", kind="video", source=video, media={})
    register_file(
        web_db_url, api.artifact_dir, job_id, stage="visuals", kind="captions", source=captions, media={}
    )

    with api.client(auth=False) as http:
        whole = http.get(f"/api/jobs/{job_id}/artifacts/render/video")
        part = http.get(f"/api/jobs/{job_id}/artifacts/render/video", headers={"Range": "bytes=10000-"})
        vtt = http.get(f"/api/jobs/{job_id}/artifacts/visuals/captions/vtt")
        shown = http.get(f"/api/jobs/{job_id}").json()
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.headers["accept-ranges"] == "bytes" and len(whole.content) == 10_240
    assert part.status_code == 206
    assert part.headers["content-range"] == "bytes 10000-10239/10240"
    assert part.content == (bytes(range(256)) * 40)[10_000:]
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text == "WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nHello <there>\n"
    kinds = {a["kind"]: a for a in shown["artifacts"]}
    assert kinds["video"]["bytes"] == 10_240 and len(kinds["video"]["sha256"]) == 64


def test_artifacts_are_served_only_from_registered_rows_inside_the_store(
    api: ApiServer, web_conn: Conn
) -> None:
    secret = api.artifact_dir.parent / "secret.txt"  # just outside the store
    secret.write_text("not for the web", encoding="utf-8")
    with api.client() as http:
        job_id = http.post("/api/jobs", json={"topic": "owls"}).json()["ids"][0]
        # A row pointing outside the store (as if tampered with) is never followed.
        web_conn.execute(
            "INSERT INTO artifacts (job_id, stage, kind, attempt, uri, bytes, sha256)"
            " VALUES (%s, 'render', 'video', 1, %s, 1, %s)",
            [job_id, "local:../secret.txt", "0" * 64],
        )
        escaped = http.get(f"/api/jobs/{job_id}/artifacts/render/video")
        traversal = http.get(f"/api/jobs/{job_id}/artifacts/render/..%2F..%2Fsecret.txt")
        unknown = http.get(f"/api/jobs/{job_id}/artifacts/render/thumbnail")
    assert escaped.status_code == 410 and "not for the web" not in escaped.text
    assert traversal.status_code == 404 and "not for the web" not in traversal.text
    assert unknown.status_code == 404


def _read_events(response: httpx.Response, want: int) -> list[dict[str, str]]:
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in response.iter_lines():
        if not line:
            if current.get("event") == "stage":
                events.append(current)
                if len(events) >= want:
                    return events
            current = {}
            continue
        field, _, value = line.partition(":")
        current[field] = value.strip()
    return events


def test_event_stream_resumes_after_the_last_event_id(api: ApiServer) -> None:
    with api.client() as http:
        job_id = http.post("/api/jobs", json={"topic": "owls"}).json()["ids"][0]
        with http.stream("GET", "/api/events", params={"job": job_id, "after": 0}) as stream:
            first = _read_events(stream, 3)  # the three NEW stages, replayed
        assert {e["id"] for e in first} and all('"NEW"' in e["data"] for e in first)
        last_id = max(int(e["id"]) for e in first)

        http.post(f"/api/jobs/{job_id}/cancel").raise_for_status()  # while nobody listens
        with http.stream(
            "GET", "/api/events", params={"job": job_id}, headers={"Last-Event-ID": str(last_id)}
        ) as stream:
            resumed = _read_events(stream, 3)
    assert all('"CANCELLED"' in e["data"] for e in resumed)
    assert all(int(e["id"]) > last_id for e in resumed)


def test_fifty_event_streams_share_one_listen_connection(api: ApiServer, web_conn: Conn) -> None:
    import asyncio

    async def watch_all() -> tuple[int, list[int]]:
        limits = httpx.Limits(max_connections=60)
        async with httpx.AsyncClient(base_url=api.url, timeout=30, limits=limits) as client:
            ready = asyncio.Event()
            opened = 0

            async def one() -> int:
                nonlocal opened
                async with client.stream("GET", "/api/events") as response:
                    seen = 0
                    async for line in response.aiter_lines():
                        if line.startswith("event: hello"):
                            opened += 1
                            if opened == 50:
                                ready.set()
                        if line.startswith("event: stage"):
                            seen += 1
                            if seen == 3:
                                return seen
                    return seen

            tasks = [asyncio.create_task(one()) for _ in range(50)]
            await asyncio.wait_for(ready.wait(), 30)
            listening = _listening_backends(web_conn)
            await client.post(
                "/api/jobs", json={"topic": "owls"}, headers={"Authorization": f"Bearer {api.token}"}
            )
            return listening, await asyncio.wait_for(asyncio.gather(*tasks), 30)

    listening, seen = asyncio.run(watch_all())
    assert listening == 1
    assert seen == [3] * 50


def _listening_backends(conn: Conn) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%%'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_the_api_refuses_to_listen_beyond_loopback_without_a_token(sf_env: dict[str, str]) -> None:
    result = subprocess.run(
        [str(SF), "api", "--host", "0.0.0.0", "--port", "0"],
        env={**sf_env, "SF_API_TOKEN": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("sf: error: refusing to listen on 0.0.0.0")
    assert "Traceback" not in result.stderr


def test_docs_page_and_openapi_are_served_locally(api: ApiServer) -> None:
    with api.client(auth=False) as http:
        docs = http.get("/docs")
        schema = http.get("/openapi.json").json()
    assert docs.status_code == 200
    assert "<code>/api/jobs/{job_id}/artifacts/{stage}/{kind}</code>" in docs.text
    assert "A registered artifact&#39;s file, with Range support" in docs.text
    assert "http" not in docs.text.split("<main>", 1)[1].replace(api.url, "")  # nothing fetched elsewhere
    assert "/api/jobs/{job_id}/artifacts/{stage}/{kind}" in schema["paths"]


def test_a_traced_job_links_its_trace_in_jaeger(api: ApiServer, web_conn: Conn) -> None:
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    with api.client() as http:
        job_id = http.post("/api/jobs", json={"topic": "owls"}).json()["ids"][0]
        web_conn.execute(
            "UPDATE jobs SET trace_context = %s WHERE id = %s",
            [Jsonb({"traceparent": f"00-{trace}-00f067aa0ba902b7-01"}), job_id],
        )
        shown = http.get(f"/api/jobs/{job_id}").json()
        page = http.get(f"/jobs/{job_id}").text
    assert shown["trace_id"] == trace
    assert shown["trace_url"] == f"{JAEGER}/trace/{trace}"
    assert f'href="{JAEGER}/trace/{trace}"' in page


def _logged_in_browser(api: ApiServer) -> tuple[httpx.Client, str]:
    """A client that logged in through the form, and the CSRF value its pages carry."""
    http = httpx.Client(base_url=api.url, timeout=30, headers={"Origin": api.url})
    login = http.post("/login", data={"token": api.token, "next": "/jobs"})
    assert login.status_code == 303 and "sf_session" in http.cookies
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = http.get("/jobs").text
    csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    return http, csrf


def test_bulk_cancel_from_the_jobs_page_needs_the_csrf_value(api: ApiServer, web_conn: Conn) -> None:
    with api.client() as http:
        ids = http.post("/api/jobs", json={"topic": "bulk", "count": 2}).json()["ids"]
    browser, csrf = _logged_in_browser(api)
    try:
        forged = browser.post("/jobs/bulk", data={"action": "cancel", "ids": ids})
        assert forged.status_code == 403
        assert all(_statuses(web_conn, i) == ["NEW"] * 3 for i in ids)

        done = browser.post("/jobs/bulk", data={"action": "cancel", "ids": ids, "csrf": csrf})
    finally:
        browser.close()
    assert done.status_code == 303
    assert all(_statuses(web_conn, i) == ["CANCELLED"] * 3 for i in ids)


def test_a_wrong_login_sets_no_cookie(api: ApiServer) -> None:
    with httpx.Client(base_url=api.url, timeout=30) as http:
        response = http.post("/login", data={"token": "guess", "next": "/"})
    assert response.status_code == 401
    assert "sf_session" not in http.cookies


def test_a_running_stage_shows_its_progress_in_the_api_and_on_its_page(
    api: ApiServer, web_conn: Conn
) -> None:
    """What a worker's heartbeat stored (issue 14): the fraction, the phrase and the time left."""
    with api.client() as http:
        job_id = http.post("/api/jobs", json={"format": "short", "topic": "owls"}).json()["ids"][0]
        web_conn.execute(
            "UPDATE job_stages SET status = 'RUNNING', attempt = 1, lease_owner = 'w', "
            "lease_expires_at = now() + interval '1 minute', started_at = now() - interval '60 seconds', "
            "progress = 0.25, progress_note = %s WHERE job_id = %s AND stage = 'audio'",
            ["spoke 3 of 12 <b>sentences</b>", job_id],
        )
        audio = http.get(f"/api/jobs/{job_id}").json()["job"]["stage_details"][0]
        page = http.get(f"/jobs/{job_id}").text
    assert (audio["progress"], audio["progress_note"]) == (0.25, "spoke 3 of 12 <b>sentences</b>")
    assert audio["time_left"].startswith("PT")  # ISO 8601: about three minutes
    assert '<progress max="1" value="0.25"></progress> <b>25%</b> · 3 min' in page
    assert "spoke 3 of 12 &lt;b&gt;sentences&lt;/b&gt;" in page


def test_files_in_a_bucket_are_refused_with_a_pointer_and_the_job_page_still_renders(
    api: ApiServer, web_conn: Conn
) -> None:
    with api.client() as http:
        job_id = http.post("/api/jobs", json={"topic": "owls"}).json()["ids"][0]
        for kind in ("video", "script_md"):
            web_conn.execute(
                "INSERT INTO artifacts (job_id, stage, kind, attempt, uri, bytes, sha256)"
                " VALUES (%s, 'render', %s, 1, %s, 1, %s)",
                [job_id, kind, f"s3://bucket/sf/{job_id}/render/1/{kind}", "0" * 64],
            )
        video = http.get(f"/api/jobs/{job_id}/artifacts/render/video")
        page = http.get(f"/jobs/{job_id}")
    assert video.status_code == 501 and "sf export" in video.text
    assert page.status_code == 200 and "owls" in page.text
