"""The dashboard in a real browser: Debian's headless Chromium driven by Selenium, against a real
`sf api`, orchestrator and simulated workers (separate processes) on the test's Postgres."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.api_server import ApiServer, register_file
from tests.support.children import Children
from tests.support.polling import wait_until

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
# Screenshots go to a scratch dir unless asked for (to refresh docs/screenshots/ for the README).
SCREENSHOT_DIR_VARIABLE = "SF_SCREENSHOT_DIR"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"
# `preload="metadata"` may stop at HAVE_METADATA: a seek makes the player fetch and show a frame.
PLAYER_READY = (
    "const v = document.getElementById('player');"
    " if (v.currentTime < 30) v.currentTime = 30; return v.readyState;"
)
RELEASE_VIDEO = (
    "for (const v of document.querySelectorAll('video')) {"
    " v.pause(); v.removeAttribute('src');"
    " v.querySelectorAll('source').forEach((s) => s.remove()); v.load(); }"
)
POISON = "poison"  # simulated stages of these jobs always fail

pytestmark = [
    pytest.mark.browser,
    # Skipped on a developer's machine without them; in CI (.ci/run installs them) a missing browser fails.
    pytest.mark.skipif(
        (CHROMIUM is None or CHROMEDRIVER is None) and not os.environ.get("CI"),
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
    ),
]
Conn = psycopg.Connection[Any]


@pytest.fixture(scope="module")
def factory(web_children: Children, api: ApiServer) -> Children:
    """An orchestrator and one simulated worker per stage, each its own process. Stages take 1.5 s
    so a page can be seen changing; jobs about POISON fail at once and for good."""
    env = {
        "SF_SIM_SECONDS": "1.5",
        "SF_POLL_SECONDS": "0.2",
        "SF_SIM_FAIL_TOPIC": POISON,
        "SF_MAX_ATTEMPTS": "1",
    }
    web_children.start("orchestrator", "orchestrator-loop", "--poll", "0.2", env=env)
    for stage in ("audio", "visuals", "render"):
        web_children.start(f"worker-{stage}", "worker", "--stage", stage, env=env)
    return web_children


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """Debian's headless Chromium with a fresh profile and no network of its own."""
    profile = tempfile.mkdtemp(prefix="sf-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    # Navigation returns at DOMContentLoaded: tests wait explicitly for what they need.
    options.page_load_strategy = "eager"
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--autoplay-policy=no-user-gesture-required",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def _log_in(driver: WebDriver, api: ApiServer) -> WebDriver:
    driver.get(f"{api.url}/login")
    driver.find_element(By.ID, "token").send_keys(api.token)
    driver.find_element(By.ID, "login").click()
    WebDriverWait(driver, 10).until(lambda d: d.get_cookie("sf_session") is not None)
    return driver


@pytest.fixture
def logged_in(browser: WebDriver, api: ApiServer) -> WebDriver:
    return _log_in(browser, api)


def _statuses(conn: Conn, job_id: str) -> list[str]:
    rows = conn.execute(
        "SELECT status FROM job_stages WHERE job_id = %s ORDER BY position", [job_id]
    ).fetchall()
    return [str(r[0]) for r in rows]


def _timeline(driver: WebDriver) -> list[str]:
    # One script call: the live fragment may replace the badges between two WebDriver calls.
    texts: list[str] = driver.execute_script(
        "return [...document.querySelectorAll('#timeline .badge')].map((b) => b.textContent.trim());"
    )
    return texts


def _release_video(driver: WebDriver) -> None:
    """Stop the page's player and drop its source before navigating away: headless Chromium's
    renderer otherwise stalls ~30 s tearing down a half-fetched video (a harness quirk)."""
    driver.execute_script(RELEASE_VIDEO)


def _no_alert(driver: WebDriver) -> bool:
    try:
        driver.switch_to.alert  # noqa: B018 - raises when no dialog is open
    except NoAlertPresentException:
        return True
    return False


def test_login_then_create_a_job_and_watch_its_stages_reach_done_without_reloading(
    logged_in: WebDriver, api: ApiServer, factory: Children
) -> None:
    driver = logged_in
    driver.get(f"{api.url}/jobs/new")
    topic = f"lanterns over a quiet harbour {uuid.uuid4().hex[:6]}"
    driver.find_element(By.ID, "topic").send_keys(topic)
    driver.find_element(By.ID, "create").click()
    WebDriverWait(driver, 15).until(lambda d: d.find_elements(By.ID, "job-head"))
    assert driver.find_element(By.ID, "job-topic").text == topic
    first_seen = _timeline(driver)
    driver.execute_script("window.sfNoReload = 42;")

    WebDriverWait(driver, 60).until(lambda d: _timeline(d) == ["DONE", "DONE", "DONE"])
    assert first_seen != ["DONE", "DONE", "DONE"], "the job finished before the page could watch it"
    assert driver.execute_script("return window.sfNoReload;") == 42, "the page was reloaded"


def test_retry_and_cancel_buttons_change_the_database(
    logged_in: WebDriver, api: ApiServer, factory: Children, web_conn: Conn
) -> None:
    with api.client() as http:
        job_id = http.post("/api/jobs", json={"topic": f"{POISON} pill"}).json()["ids"][0]
    factory.wait_until(lambda: _statuses(web_conn, job_id)[0] == "ERROR", 60, what="audio to fail")
    driver = logged_in
    driver.get(f"{api.url}/jobs/{job_id}")

    driver.find_element(By.ID, "cancel").click()
    wait_until(lambda: _statuses(web_conn, job_id) == ["CANCELLED"] * 3, 15, what="cancelled stages")

    driver.find_element(By.ID, "retry").click()
    wait_until(lambda: "CANCELLED" not in _statuses(web_conn, job_id), 15, what="stages back from CANCELLED")


def test_a_hostile_topic_shows_as_text_and_opens_no_dialog(browser: WebDriver, api: ApiServer) -> None:
    with api.client() as http:
        job_id = http.post("/api/jobs", json={"topic": XSS}).json()["ids"][0]
    browser.get(f"{api.url}/jobs/{job_id}")
    assert browser.find_element(By.ID, "job-topic").text == XSS
    browser.get(f"{api.url}/jobs")
    links = [a.text for a in browser.find_elements(By.CSS_SELECTOR, ".job-row a.topic")]
    assert XSS in links
    assert browser.execute_script("return document.querySelectorAll('img[src=\"x\"]').length") == 0
    assert _no_alert(browser)


def test_a_write_without_logging_in_is_refused(browser: WebDriver, api: ApiServer, web_conn: Conn) -> None:
    browser.delete_all_cookies()
    count = web_conn.execute("SELECT count(*) FROM jobs").fetchone()
    browser.get(f"{api.url}/jobs/new")
    browser.find_element(By.ID, "topic").send_keys("sneaky")
    browser.find_element(By.ID, "create").click()
    WebDriverWait(browser, 10).until(lambda d: "/login" in d.current_url)
    assert web_conn.execute("SELECT count(*) FROM jobs").fetchone() == count
    # Nor can a script forge the form post without the CSRF value.
    forged = httpx.post(
        f"{api.url}/jobs/new", data={"topic": "forged"}, headers={"Origin": api.url}, follow_redirects=False
    )
    assert forged.status_code in (303, 401, 403)
    assert web_conn.execute("SELECT count(*) FROM jobs").fetchone() == count


@pytest.fixture(scope="module")
def video_job(api: ApiServer, web_db_url: str, web_dir: Path) -> str:
    """A finished-looking job with a real 10-minute MP4 (made with PyAV), captions and a script."""
    with api.client() as http:
        job_id = http.post(
            "/api/jobs", json={"format": "sleepy", "topic": "rain on a tin roof", "length_seconds": 600}
        ).json()["ids"][0]
    sources = web_dir / "sources"
    sources.mkdir(exist_ok=True)
    video = _sleepy_video(sources / "video.mp4", seconds=600)
    captions = sources / "captions.srt"
    captions.write_text(
        "1\n00:00:00,000 --> 00:00:04,000\nRain settles on the roof.\n\n"
        "2\n00:09:50,000 --> 00:09:59,000\nGood night.\n",
        encoding="utf-8",
    )
    script = sources / "script.md"
    script.write_text(
        "# Rain on a tin roof\n\nRain settles on the roof. <b>Good night.</b>\n", encoding="utf-8"
    )
    for stage, kind, path in (
        ("audio", "script_md", script),
        ("visuals", "captions", captions),
        ("render", "video", video),
    ):
        register_file(web_db_url, api.artifact_dir, job_id, stage=stage, kind=kind, source=path, media={})
    return str(job_id)


def _sleepy_video(path: Path, *, seconds: int) -> Path:
    import av
    import numpy as np

    fps = 2
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 160, 90, "yuv420p"
        stream.codec_context.time_base = Fraction(1, fps)
        sky = np.linspace(40, 200, 90, dtype=np.uint8)[:, None]
        for index in range(seconds * fps):
            pixels = np.zeros((90, 160, 3), dtype=np.uint8)
            pixels[..., 0], pixels[..., 1], pixels[..., 2] = sky // 3, sky // 2, sky
            moon = (index * 2) % 160  # a moon drifting across, so frames differ
            pixels[20:32, max(0, moon - 6) : moon + 6] = (250, 230, 160)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_the_video_plays_and_seeks_near_the_end(browser: WebDriver, api: ApiServer, video_job: str) -> None:
    browser.get(f"{api.url}/jobs/{video_job}")
    player = browser.find_element(By.ID, "player")
    browser.execute_script("arguments[0].muted = true; arguments[0].play();", player)
    WebDriverWait(browser, 20).until(
        lambda d: d.execute_script("return arguments[0].readyState;", player) >= 2
    )
    start = browser.execute_script("return arguments[0].currentTime;", player)
    WebDriverWait(browser, 20).until(
        lambda d: d.execute_script("return arguments[0].currentTime;", player) > start + 0.5
    )
    duration = browser.execute_script("return arguments[0].duration;", player)
    assert duration > 590
    browser.execute_script("arguments[0].currentTime = arguments[0].duration - 5;", player)
    near_end = (
        "const v = arguments[0]; return !v.seeking && v.readyState >= 2 && v.currentTime > v.duration - 6;"
    )
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(near_end, player))
    # The captions track: the .srt artifact converted to WebVTT on the fly.
    browser.execute_script("arguments[0].textTracks[0].mode = 'hidden';", player)
    WebDriverWait(browser, 10).until(
        lambda d: d.execute_script("return (arguments[0].textTracks[0].cues || []).length;", player) == 2
    )
    _release_video(browser)


def test_screenshots_of_every_page(api: ApiServer, video_job: str, factory: Children, tmp_path: Path) -> None:
    # A browser of its own: after the seek test, leaving that video's page in the shared headless
    # session stalled chromedriver for its whole page-load timeout (not seen in a fresh session).
    with chromium() as driver:
        _screenshots(_log_in(driver, api), api, video_job, tmp_path)


def _screenshots(driver: WebDriver, api: ApiServer, video_job: str, tmp_path: Path) -> None:
    shots = Path(os.environ.get(SCREENSHOT_DIR_VARIABLE) or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    pages = {
        "overview": "/",
        "jobs": "/jobs",
        "job": f"/jobs/{video_job}",
        "new-job": "/jobs/new",
        "workers": "/workers",
    }
    driver.get(f"{api.url}/jobs/{video_job}")
    WebDriverWait(driver, 60).until(lambda d: _timeline(d) == ["DONE", "DONE", "DONE"])
    _release_video(driver)
    for name, path in pages.items():
        driver.get(f"{api.url}{path}")
        WebDriverWait(driver, 10).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )
        if name == "job":  # the first frame, not a loading spinner
            WebDriverWait(driver, 20).until(lambda d: d.execute_script(PLAYER_READY) >= 2)
        driver.save_screenshot(str(shots / f"{name}.png"))
        _release_video(driver)
    dark = {"features": [{"name": "prefers-color-scheme", "value": "dark"}]}
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia", dark)
    try:
        driver.get(f"{api.url}/jobs")
        driver.save_screenshot(str(shots / "jobs-dark.png"))
    finally:
        driver.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    driver.set_window_size(390, 844)
    try:
        driver.get(f"{api.url}/jobs/{video_job}")
        WebDriverWait(driver, 20).until(lambda d: d.execute_script(PLAYER_READY) >= 2)
        driver.save_screenshot(str(shots / "job-phone.png"))
        _release_video(driver)
    finally:
        driver.set_window_size(1280, 900)
    assert all((shots / f"{name}.png").stat().st_size > 5000 for name in pages)
