"""The script writer backed by an LLM on an OpenAI-compatible server (see llm_client, prompts).

Short scripts are asked for whole. Longer ones are written section by section after an outline, so
a two-hour sleep story never meets a context limit; every answer is saved under `drafts_dir` as it
arrives, and a writer given the same directory (a retried stage) reuses what is there instead of
asking again. The prompts sent and the model that answered are recorded in `script.prompt.json`
(never the API key), so a job's artifacts say where its words came from.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sf_media import prompts
from sf_media.errors import MediaError
from sf_media.formats import Format, spec_for
from sf_media.llm_client import ChatClient, LLMConfig, LLMError, Message, UnusableAnswerError
from sf_media.script import Script, script_from_texts, word_budget
from sf_media.timing import paced

log = logging.getLogger(__name__)

# A sentence runs to its stop and any closing quote or bracket after it, or to the end of the text.
_SENTENCE = re.compile("\\S.*?(?:[.!?\u2026]+[\"'\u201d\u2019)\\]]*(?=\\s|$)|$)")

PROMPT_RECORD = "script.prompt.json"
# Up to this many words the whole script is one request (a short, a few minutes of longform).
WHOLE_SCRIPT_WORDS = 700
# Words asked per section when written section by section: a comfortable answer for small models.
SECTION_WORDS = {Format.SHORT: 150, Format.LONGFORM: 400, Format.SLEEPY: 350}
MAX_SECTIONS = 200
# Ask for a little more than the length needs: re-timing drops what does not fit, and cannot add.
RESERVE = 1.15
MAX_TITLE_CHARS = 100
# Longer answer strings are cut: a runaway model must not fill the disk or the speech engine.
MAX_TEXT_CHARS = 4000
MAX_TAGS = 15


class LLMScriptWriter:
    """Writes scripts with the model in `config`, keeping drafts in `drafts_dir` (resumable)."""

    def __init__(self, config: LLMConfig, drafts_dir: Path, record_dir: Path | None = None) -> None:
        self.config = config
        self.drafts_dir = drafts_dir
        self.record_dir = record_dir or drafts_dir
        self.client = ChatClient(config)

    def write(self, topic: str, format: str, length_seconds: int, *, pace: float = 1.0) -> Script:
        spec = paced(spec_for(format), pace)
        topic = " ".join(topic.split())
        if not topic:
            raise MediaError("a script needs a topic")
        # Continuous talk is asked a little long (fitting drops the surplus); sleepy pauses stretch.
        reserve = RESERVE if spec.speech_fraction >= 1.0 else 1.0
        words = math.ceil(word_budget(spec, length_seconds) * reserve)
        self._open_drafts(topic, spec.format, length_seconds, spec.words_per_second)
        calls: list[dict[str, Any]] = []
        if words <= WHOLE_SCRIPT_WORDS:
            count = 3 if spec.format is Format.SHORT else max(1, round(words / SECTION_WORDS[spec.format]))
            messages = prompts.whole_messages(topic, spec.format, words, count)
            whole = self._answer("whole", messages, calls, "the script", _whole)
            meta = _metadata(whole)
            sections = _whole(whole)
        else:
            count = min(MAX_SECTIONS, max(2, round(words / SECTION_WORDS[spec.format])))
            messages = prompts.outline_messages(topic, spec.format, words, count)
            outline_reply = self._answer("outline", messages, calls, "the outline", _outline)
            meta = _metadata(outline_reply)
            outline = _outline(outline_reply)
            # An outline with fewer sections than asked must not turn into a few huge requests.
            per_section = max(40, min(round(words / len(outline)), 2 * SECTION_WORDS[spec.format]))
            if per_section * len(outline) < 0.8 * words:
                log.warning(
                    "the outline has %d sections; the script will be shorter than asked", len(outline)
                )
            sections = []
            previous: list[str] = []
            for index, (title, _) in enumerate(outline):
                messages = prompts.section_messages(
                    topic, spec.format, outline, index=index, words=per_section, previous=previous[-2:]
                )
                where = f"section {index + 1}"
                check = functools.partial(_sentences, where=where)
                reply = self._answer(f"section-{index:03d}", messages, calls, where, check)
                sentences = _sentences(reply, where)
                sections.append((title, sentences))
                previous = sentences
        sections = _without_repeats(sections)
        if not sections:
            raise LLMError(f"script server {self.config.server} wrote no usable sentences")
        self._record(topic, spec.format, length_seconds, words, calls)
        return script_from_texts(
            title=meta["title"],
            topic=topic,
            format=spec.format.value,
            length_seconds=length_seconds,
            headings=[title for title, _ in sections],
            texts=[sentences for _, sentences in sections],
            description=meta["description"],
            tags=meta["tags"],
            pace=pace,
        )

    def _open_drafts(self, topic: str, fmt: Format, length_seconds: int, spec_words: float) -> None:
        """Keep saved drafts only if they answer this very request (same topic, length, model, prompts)."""
        request = {
            "topic": topic,
            "format": fmt.value,
            "length_seconds": length_seconds,
            "words_per_second": spec_words,
            "model": self.config.model,
            "server": self.config.server,
            "prompt_version": prompts.PROMPT_VERSION,
        }
        key = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()
        marker = self.drafts_dir / "request.sha256"
        if marker.is_file() and marker.read_text(encoding="utf-8").strip() == key:
            return
        if self.drafts_dir.exists():
            shutil.rmtree(self.drafts_dir)
        self.drafts_dir.mkdir(parents=True)
        marker.write_text(key + "\n", encoding="utf-8")

    def _answer(
        self,
        name: str,
        messages: list[Message],
        calls: list[dict[str, Any]],
        purpose: str,
        check: Callable[[dict[str, Any]], object],
    ) -> dict[str, Any]:
        """A saved draft, or the server's answer once `check` accepts it (then saved, so a retried
        stage never asks for it again, and never reuses an answer that was unusable)."""
        draft = self.drafts_dir / f"{name}.json"
        calls.append({"name": name, "messages": messages})
        if draft.is_file():
            calls[-1]["reused"] = True
            data: dict[str, Any] = json.loads(draft.read_text(encoding="utf-8"))
            return data
        answer = self.client.json_object(messages, purpose, check)
        partial = draft.with_suffix(".part")
        partial.write_text(json.dumps(answer, ensure_ascii=False), encoding="utf-8")
        partial.replace(draft)  # a crash mid-write never leaves a half draft to reuse
        return answer

    def _record(
        self, topic: str, fmt: Format, length_seconds: int, words: int, calls: list[dict[str, Any]]
    ) -> None:
        record = {
            "writer": "llm",
            "server": self.config.server,
            "model": self.config.model,
            "temperature": self.config.temperature,
            "topic": topic,
            "format": fmt.value,
            "length_seconds": length_seconds,
            "words_asked": words,
            "prompt_version": prompts.PROMPT_VERSION,
            "calls": calls,
        }
        self.record_dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
        (self.record_dir / PROMPT_RECORD).write_text(text, encoding="utf-8")


def _bad(what: str) -> UnusableAnswerError:
    return UnusableAnswerError(what)


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        raise _bad(f"'{key}' must be a non-empty list")
    return value


def _text(value: object, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _bad(f"{what} must be non-empty text")
    return " ".join(value.replace("*", "").split())[:limit]


def _whole(data: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """A whole script's sections (title and metadata checked too)."""
    _metadata(data)
    return [_section(raw, n) for n, raw in enumerate(_list(data, "sections"), start=1)]


def _outline(data: dict[str, Any]) -> list[tuple[str, str]]:
    """An outline's (title, plan) pairs (title and metadata checked too)."""
    _metadata(data)
    return [_planned(raw, n) for n, raw in enumerate(_list(data, "sections"), start=1)]


def _metadata(data: dict[str, Any]) -> dict[str, Any]:
    title = _text(data.get("title"), "'title'", MAX_TITLE_CHARS)
    description = data.get("description")
    description = " ".join(description.split()) if isinstance(description, str) else ""
    raw_tags = data.get("tags")
    tags = (
        [" ".join(t.split()).lower() for t in raw_tags if isinstance(t, str)]
        if isinstance(raw_tags, list)
        else []
    )
    return {"title": title, "description": description, "tags": [t for t in tags if t][:MAX_TAGS]}


def _planned(raw: object, number: int) -> tuple[str, str]:
    if not isinstance(raw, dict):
        raise _bad(f"section {number} of the outline must be an object")
    plan = raw.get("plan")
    return _text(raw.get("title"), f"the title of section {number}", 120), plan if isinstance(
        plan, str
    ) else ""


def _section(raw: object, number: int) -> tuple[str, list[str]]:
    if not isinstance(raw, dict):
        raise _bad(f"section {number} must be an object")
    return _text(raw.get("title"), f"the title of section {number}", 120), _sentences(
        raw, f"section {number}"
    )


def _sentences(data: dict[str, Any], where: str) -> list[str]:
    raw = data.get("sentences")
    if not isinstance(raw, list) or not raw:
        raise _bad(f"{where} needs a non-empty 'sentences' list")
    texts = [_text(s, f"every sentence of {where}", MAX_TEXT_CHARS) for s in raw]
    # Models often put two or three sentences in one string: each becomes its own caption and line.
    sentences = [part for text in texts for part in _SENTENCE.findall(text)]
    return [s.strip() for s in sentences if any(c.isalnum() for c in s)]


def _without_repeats(sections: list[tuple[str, list[str]]]) -> list[tuple[str, list[str]]]:
    """Models repeat themselves across sections; a sentence is said once per video."""
    seen: set[str] = set()
    kept: list[tuple[str, list[str]]] = []
    for title, sentences in sections:
        fresh = []
        for sentence in sentences:
            key = " ".join(sentence.lower().split())
            if key not in seen:
                seen.add(key)
                fresh.append(sentence)
        if fresh:
            kept.append((title, fresh))
    return kept
