"""The LLM script writer against a real HTTP server process speaking the chat-completions protocol."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sf_media.llm_client import LLMConfig, LLMError
from sf_media.llm_writer import PROMPT_RECORD, LLMScriptWriter

SERVER_SCRIPT = Path(__file__).with_name("fake_llm_server.py")
API_KEY = "sk-test-very-secret-key"


@dataclass
class FakeServer:
    url: str

    def faults(self, *faults: str) -> None:
        request = urllib.request.Request(
            f"{self.url}/control", data=json.dumps({"faults": list(faults)}).encode(), method="POST"
        )
        urllib.request.urlopen(request, timeout=10).read()

    def received(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/control", timeout=10) as reply:
            data: list[dict[str, Any]] = json.loads(reply.read())
        return data

    def config(self, **overrides: Any) -> LLMConfig:
        settings: dict[str, Any] = {
            "base_url": f"{self.url}/v1",
            "model": "fake-model-7b",
            "api_key": API_KEY,
            "timeout": 10.0,
            "max_retries": 3,
            **overrides,
        }
        return LLMConfig(**settings)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    process = subprocess.Popen(
        [sys.executable, str(SERVER_SCRIPT)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the server prints its port once it listens
        assert line.startswith("PORT "), f"fake server did not start: {line!r}"
        yield FakeServer(f"http://127.0.0.1:{int(line.split()[1])}")
    finally:
        process.kill()
        process.wait(10)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_short_is_written_in_one_request_with_chapter_titles_and_its_prompt_recorded(
    server: FakeServer, tmp_path: Path
) -> None:
    writer = LLMScriptWriter(server.config(), tmp_path / "drafts", record_dir=tmp_path)

    script = writer.write("tide pools", "short", 30)

    assert script.title == "All about tide pools"
    assert script.tags == ("tide pools", "calm")
    assert script.sections[0].heading == "Chapter 1 of tide pools"
    assert all("tide pools" in s.text for s in script.sentences())
    [request] = server.received()
    assert request["model"] == "fake-model-7b"
    assert request["response_format"] == {"type": "json_object"}
    assert "hook" in request["messages"][0]["content"]  # the short's system prompt
    assert request["authorization"] == f"Bearer {API_KEY}"  # sent to the server...
    record_text = (tmp_path / PROMPT_RECORD).read_text(encoding="utf-8")
    assert API_KEY not in record_text  # ...but never recorded
    record = json.loads(record_text)
    assert record["model"] == "fake-model-7b"
    assert record["server"] == f"{server.url}/v1"
    assert record["calls"][0]["messages"] == request["messages"]


def test_format_aware_system_prompts(server: FakeServer, tmp_path: Path) -> None:
    LLMScriptWriter(server.config(), tmp_path / "a").write("owls", "sleepy", 60)
    LLMScriptWriter(server.config(), tmp_path / "b").write("owls", "longform", 60)

    sleepy, longform = (r["messages"][0]["content"] for r in server.received())
    assert "second-person" in sleepy or "'you'" in sleepy
    assert "sections" in longform


def test_a_two_hour_sleepy_script_is_written_section_by_section(server: FakeServer, tmp_path: Path) -> None:
    script = LLMScriptWriter(server.config(), tmp_path / "drafts").write("the moon", "sleepy", 7200)

    requests = server.received()
    outline, *sections = requests
    assert '"plan"' in outline["messages"][-1]["content"]
    assert len(sections) == len(script.sections) >= 5
    # No request carries the whole script so far: each stays about the size of the first.
    sizes = [len(json.dumps(r["messages"])) for r in sections]
    assert max(sizes) < 2 * min(sizes)
    assert script.duration == 7200


def test_rate_limits_and_server_errors_are_retried(server: FakeServer, tmp_path: Path) -> None:
    server.faults("429", "500", "503")

    script = LLMScriptWriter(server.config(), tmp_path / "drafts").write("tide pools", "short", 30)

    assert script.sentences()
    assert len(server.received()) == 4


def test_an_answer_that_is_not_json_is_asked_again(server: FakeServer, tmp_path: Path) -> None:
    server.faults("not-json")

    script = LLMScriptWriter(server.config(), tmp_path / "drafts").write("tide pools", "short", 30)

    assert script.sentences()
    assert len(server.received()) == 2


@pytest.mark.parametrize(
    ("fault", "said"),
    [
        ("garbage", "not a chat completion"),
        ("not-json", "not JSON"),
        ("500", "answered HTTP 500"),
    ],
)
def test_a_server_that_keeps_answering_garbage_is_one_clear_error(
    server: FakeServer, tmp_path: Path, fault: str, said: str
) -> None:
    server.faults(*[fault] * 3)
    writer = LLMScriptWriter(server.config(max_retries=2), tmp_path / "drafts")

    with pytest.raises(LLMError) as raised:
        writer.write("tide pools", "short", 30)

    message = str(raised.value)
    assert said in message and f"{server.url}/v1" in message and "3 attempts" in message
    assert "\n" not in message and API_KEY not in message
    assert len(server.received()) == 3


def test_json_of_the_wrong_shape_is_asked_again_then_refused_with_what_is_missing(
    server: FakeServer, tmp_path: Path
) -> None:
    server.faults("empty")
    script = LLMScriptWriter(server.config(), tmp_path / "drafts").write("tide pools", "short", 30)
    assert script.sentences() and len(server.received()) == 2

    server.faults("empty", "empty")
    with pytest.raises(LLMError, match="answered unusable JSON: 'sections' must be a non-empty list"):
        LLMScriptWriter(server.config(max_retries=1), tmp_path / "other").write("tide pools", "short", 30)
    assert not list((tmp_path / "other").glob("whole*"))  # an unusable answer is never kept as a draft


def test_a_refused_request_is_not_retried(server: FakeServer, tmp_path: Path) -> None:
    server.faults("400")

    with pytest.raises(LLMError, match=r"refused the request: HTTP 400 fault 400$"):
        LLMScriptWriter(server.config(), tmp_path / "drafts").write("tide pools", "short", 30)
    assert len(server.received()) == 1


def test_an_unreachable_server_is_named_without_its_credentials(tmp_path: Path) -> None:
    url = f"http://scriptuser:hunter2@127.0.0.1:{_free_port()}/v1"
    config = LLMConfig(base_url=url, model="m", api_key=API_KEY, timeout=5, max_retries=1)

    with pytest.raises(LLMError) as raised:
        LLMScriptWriter(config, tmp_path / "drafts").write("tide pools", "short", 30)

    message = str(raised.value)
    assert "is unreachable" in message and "127.0.0.1" in message
    assert "hunter2" not in message and "scriptuser" not in message and API_KEY not in message
    assert "hunter2" not in repr(config) and API_KEY not in repr(config)


def test_a_server_slower_than_the_timeout_is_an_error_within_the_bound(
    server: FakeServer, tmp_path: Path
) -> None:
    server.faults("slow", "slow")
    writer = LLMScriptWriter(server.config(timeout=0.5, max_retries=1), tmp_path / "drafts")

    with pytest.raises(LLMError, match=r"did not answer within 0.5 s \(the script; 2 attempts\)"):
        writer.write("tide pools", "short", 30)
    assert len(server.received()) == 2


def test_a_retried_long_script_asks_only_for_the_sections_it_does_not_have(
    server: FakeServer, tmp_path: Path
) -> None:
    drafts = tmp_path / "drafts"
    # The outline and two sections arrive, then the server fails for good.
    server.faults("ok", "ok", "ok", "500", "500")
    with pytest.raises(LLMError, match="section 3"):
        LLMScriptWriter(server.config(max_retries=1), drafts).write("the moon", "sleepy", 3600)
    assert len(server.received()) == 5

    script = LLMScriptWriter(server.config(), drafts).write("the moon", "sleepy", 3600)

    requests = server.received()[5:]
    assert all('"plan"' not in r["messages"][-1]["content"] for r in requests)  # no second outline
    assert len(requests) == len(script.sections) - 2
    assert "section, 3." in requests[0]["messages"][-1]["content"]


def test_drafts_of_another_request_are_not_reused(server: FakeServer, tmp_path: Path) -> None:
    drafts = tmp_path / "drafts"
    LLMScriptWriter(server.config(), drafts).write("the moon", "sleepy", 3600)
    first = len(server.received())

    LLMScriptWriter(server.config(), drafts).write("the sea", "sleepy", 3600)

    assert len(server.received()) == 2 * first


def test_sentences_a_model_runs_together_are_said_one_by_one(server: FakeServer, tmp_path: Path) -> None:
    server.faults("joined")

    script = LLMScriptWriter(server.config(), tmp_path / "drafts").write("tide pools", "short", 30)

    assert len(script.sections[0].sentences) > 1
    assert all(s.text.count(".") == 1 and s.text.endswith(".") for s in script.sentences())
