"""Talking to an OpenAI-compatible `/v1/chat/completions` server for JSON answers, with bounded retries.

The official `openai` client speaks the protocol; its own retries are off (`max_retries=0`) so this
module decides what is worth retrying (429, 5xx, timeouts, a dropped connection, an answer that is
not the JSON object asked for) and bounds the total wait: at most `max_retries + 1` requests of at
most `timeout` seconds each, with pauses of 0.5, 1, 2, ... seconds (at most MAX_PAUSE_SECONDS, or
the server's Retry-After up to that). Every failure becomes one MediaError line naming the server by
its URL without credentials; the API key never appears in messages, logs or recorded prompts.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import openai

from sf_media.errors import MediaError

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger(__name__)

FIRST_PAUSE_SECONDS = 0.5
MAX_PAUSE_SECONDS = 8.0

Message = dict[str, str]


@dataclass(frozen=True, slots=True)
class LLMConfig:
    """Where the script writer's model runs; the worker builds this from its SF_LLM_* settings."""

    base_url: str = field(repr=False)  # may carry user:password@; shown only as `server`
    model: str
    api_key: str | None = field(default=None, repr=False)  # a secret: kept out of repr and logs
    timeout: float = 120.0
    temperature: float = 0.7
    max_retries: int = 3

    @property
    def server(self) -> str:
        return public_url(self.base_url)


class LLMError(MediaError):
    """The script server could not give a usable answer."""


class UnusableAnswerError(LLMError):
    """An answer is JSON but not the shape asked for (says what is wrong with it)."""


def public_url(url: str) -> str:
    """`url` without user, password, query or fragment: safe to show in errors and artifacts."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class ChatClient:
    """JSON-object answers from one server and model."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        self.requests = 0  # made so far, retries included (for tests and logs)
        self._client = openai.OpenAI(
            base_url=config.base_url,
            # Local servers (Ollama, llama.cpp) want no key, but the client insists on some string.
            api_key=config.api_key or "no-key",
            timeout=config.timeout,
            max_retries=0,
        )

    def json_object(
        self, messages: Sequence[Message], purpose: str, check: Callable[[dict[str, Any]], object]
    ) -> dict[str, Any]:
        """The server's answer to `messages` as one JSON object that `check` accepts (it raises
        UnusableAnswerError otherwise); asked again while retries last, then LLMError."""
        attempts = self.config.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                answer = self._ask(messages)
                try:
                    check(answer)
                except UnusableAnswerError as exc:
                    raise _Retryable(f"answered unusable JSON: {exc}") from None
                return answer
            except _Retryable as exc:
                if attempt == attempts:
                    raise LLMError(
                        f"script server {self.config.server} {exc.reason} ({purpose}; "
                        f"{attempts} attempt{'s' if attempts > 1 else ''})"
                    ) from None
                pause = min(exc.retry_after or FIRST_PAUSE_SECONDS * 2 ** (attempt - 1), MAX_PAUSE_SECONDS)
                log.warning(
                    "script server %s %s (%s); retrying in %.1f s",
                    self.config.server,
                    exc.reason,
                    purpose,
                    pause,
                )
                time.sleep(pause)
        raise AssertionError("unreachable")  # the loop either returns or raises

    def _ask(self, messages: Sequence[Message]) -> dict[str, Any]:
        self.requests += 1
        try:
            completion = self._client.chat.completions.create(
                model=self.config.model,
                messages=cast("list[ChatCompletionMessageParam]", [dict(m) for m in messages]),
                temperature=self.config.temperature,
                response_format={"type": "json_object"},
            )
        except openai.APITimeoutError:
            raise _Retryable(f"did not answer within {self.config.timeout:g} s") from None
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            raise _Retryable(f"is unreachable ({_first_line(str(cause)) or type(cause).__name__})") from None
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status == 429 or status >= 500:
                raise _Retryable(f"answered HTTP {status}", _retry_after(exc.response.headers)) from None
            raise LLMError(
                f"script server {self.config.server} refused the request: HTTP {status} "
                f"{_first_line(_error_text(exc))}".rstrip()
            ) from None
        except openai.APIResponseValidationError:
            raise _Retryable("answered something that is not a chat completion") from None
        return _json_content(completion)


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


def _json_content(completion: object) -> dict[str, Any]:
    """The answer's text as a JSON object; _Retryable when it is anything else (models slip)."""
    try:
        content = completion.choices[0].message.content  # type: ignore[attr-defined]
    except (AttributeError, IndexError, TypeError):
        raise _Retryable("answered something that is not a chat completion") from None
    if not isinstance(content, str) or not content.strip():
        raise _Retryable("answered with no text")
    text = content.strip()
    if text.startswith("```"):  # some models fence JSON even when asked for a JSON object
        text = text.strip("`").removeprefix("json").strip()
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Retryable(f"answered text that is not JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(data, dict):
        raise _Retryable("answered JSON that is not an object")
    return data


def _retry_after(headers: Any) -> float | None:
    try:
        value = float(headers.get("retry-after", ""))
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def _error_text(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error")
        message = body.get("message") or (error.get("message") if isinstance(error, dict) else error)
        if isinstance(message, str):
            return message
    return ""


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:200] if lines else ""
