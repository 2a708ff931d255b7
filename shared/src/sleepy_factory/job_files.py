"""Job requests read from a CSV or JSON Lines file, validated line by line before anything is stored."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sleepy_factory.errors import InvalidInputError
from sleepy_factory.job_input import DEFAULT_TOPIC, validate_format, validate_length, validate_topic
from sleepy_factory.pipeline import Format

FIELDS = ("format", "topic", "length_seconds")
MAX_JOBS_PER_FILE = 100_000


@dataclass(frozen=True, slots=True)
class JobRequest:
    format: Format
    topic: str
    length_seconds: int | None


def read_job_file(path: Path) -> list[JobRequest]:
    """Every request in a `.csv` (header: format,topic,length_seconds) or `.jsonl` file.

    Columns or keys may be left out (defaults as for `sf new-job`). The first bad line stops the
    whole file with an error naming it, so a file is stored entirely or not at all.
    """
    suffix = path.suffix.lower()
    if suffix not in {".csv", ".jsonl", ".ndjson"}:
        raise InvalidInputError(f"{path}: expected a .csv or .jsonl file")
    try:
        # utf-8-sig: spreadsheet programs start their CSV exports with a byte-order mark.
        with path.open(newline="", encoding="utf-8-sig") as handle:
            records = _csv_records(handle) if suffix == ".csv" else _jsonl_records(handle)
            requests = [_request(record, path, line) for line, record in records]
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


def _request(record: Mapping[Any, Any], path: Path, line: int) -> JobRequest:
    try:
        if None in record:  # csv.DictReader's key for values beyond the header's columns
            raise InvalidInputError(f"more values than the header's {len(FIELDS)} columns")
        unknown = set(record) - set(FIELDS)
        if unknown:
            raise InvalidInputError(f"unknown field(s) {sorted(unknown)}")
        fmt = validate_format(record.get("format", Format.SHORT.value))
        length = _length(record.get("length_seconds"))
        topic = validate_topic(record.get("topic", DEFAULT_TOPIC))
        validate_length(fmt, length)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}, line {line}: {exc}") from None
    return JobRequest(format=fmt, topic=topic, length_seconds=length)


def _length(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
        raise InvalidInputError(f"length_seconds {value!r} is not a whole number")
    return int(value)
