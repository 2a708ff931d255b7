"""Job requests read from a CSV or JSON Lines file, validated line by line before anything is stored."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sleepy_factory.errors import InvalidInputError
from sleepy_factory.job_input import DEFAULT_TOPIC, job_params, validate_format, validate_topic
from sleepy_factory.pipeline import Format
from sleepy_factory.script_input import read_script_file

FIELDS = ("format", "topic", "length_seconds", "voice", "speaking_rate", "aspect", "script", "draft")
MAX_JOBS_PER_FILE = 100_000


@dataclass(frozen=True, slots=True)
class JobRequest:
    format: Format
    topic: str
    length_seconds: int | None
    voice: str | None = None
    speaking_rate: float | None = None
    aspect: str | None = None
    script: dict[str, Any] | None = None  # normalised by script_input
    draft: bool = False

    def choices(self) -> dict[str, Any]:
        """The keyword arguments `jobs.create_job` takes beyond format and topic."""
        return {
            "length_seconds": self.length_seconds,
            "voice": self.voice,
            "speaking_rate": self.speaking_rate,
            "aspect": self.aspect,
            "script": self.script,
            "draft": self.draft,
        }


def read_job_file(path: Path, *, script_files: bool = True) -> list[JobRequest]:
    """Every request in a `.csv` (header: format,topic,length_seconds,...) or `.jsonl` file.

    Columns or keys may be left out (defaults as for `sf new-job`). The first bad line stops the
    whole file with an error naming it, so a file is stored entirely or not at all. A `script` is a
    JSON script object (JSON Lines) or, with `script_files`, the path of a script file relative to
    the batch file (an upload to the API names no files on the server).
    """
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".jsonl", ".ndjson"}:
        raise InvalidInputError(f"{path}: expected a .csv or .jsonl file")
    try:
        # utf-8-sig: spreadsheet programs start their CSV exports with a byte-order mark.
        with path.open(newline="", encoding="utf-8-sig") as handle:
            records = _csv_records(handle) if suffix == ".csv" else _jsonl_records(handle)
            requests = [_request(record, path, line, script_files) for line, record in records]
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise InvalidInputError(f"{path}: not UTF-8 text") from None
    if not requests:
        raise InvalidInputError(f"{path}: holds no jobs")
    if len(requests) > MAX_JOBS_PER_FILE:
        raise InvalidInputError(f"{path}: {len(requests)} jobs; at most {MAX_JOBS_PER_FILE} per file")
    return requests


def _csv_records(handle: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    reader = csv.DictReader(handle)
    unknown = set(reader.fieldnames or ()) - set(FIELDS)
    if unknown:
        raise InvalidInputError(f"unknown CSV column(s) {sorted(unknown)}; expected {', '.join(FIELDS)}")
    for record in reader:
        yield reader.line_num, {k: v for k, v in record.items() if v not in (None, "")}


def _jsonl_records(handle: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for line_number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"line {line_number}: not JSON ({exc.msg})") from None
        if not isinstance(record, dict):
            raise InvalidInputError(f"line {line_number}: expected a JSON object")
        yield line_number, record


def _request(record: Mapping[Any, Any], path: Path, line: int, script_files: bool) -> JobRequest:
    try:
        if None in record:  # csv.DictReader's key for values beyond the header's columns
            raise InvalidInputError(f"more values than the header's {len(FIELDS)} columns")
        unknown = set(record) - set(FIELDS)
        if unknown:
            raise InvalidInputError(f"unknown field(s) {sorted(unknown)}")
        fmt = validate_format(record.get("format", Format.SHORT.value))
        length = _length(record.get("length_seconds"))
        topic = validate_topic(record.get("topic", DEFAULT_TOPIC))
        script = _script(record.get("script"), path, script_files)
        params = job_params(
            fmt,
            length,
            voice=record.get("voice"),
            speaking_rate=record.get("speaking_rate"),
            aspect=record.get("aspect"),
            script=script,
            draft=record.get("draft"),
        )
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}, line {line}: {exc}") from None
    return JobRequest(
        format=fmt,
        topic=topic,
        length_seconds=length,
        voice=params.get("voice"),
        speaking_rate=params.get("speaking_rate"),
        aspect=params.get("aspect"),
        script=params.get("script"),
        draft=bool(params.get("draft", False)),
    )


def _script(value: Any, path: Path, script_files: bool) -> dict[str, Any] | None:
    if value is None or isinstance(value, dict):
        return value
    if isinstance(value, str) and script_files:
        return read_script_file(path.parent / value)
    raise InvalidInputError(
        "script must be a JSON script object" + (" or a file name" if script_files else "")
    )


def _length(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
        raise InvalidInputError(f"length_seconds {value!r} is not a whole number")
    return int(value)
