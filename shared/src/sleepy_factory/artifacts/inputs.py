"""A stage's inputs: earlier stages' registered artifacts, each made local only when asked for."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from sleepy_factory.artifacts.catalog import ArtifactRow
from sleepy_factory.artifacts.store import Store


class StoredInputs(Mapping[str, Path]):
    """kind -> local file. With a bucket store a file is downloaded (streamed, checked) into the
    attempt's scratch directory on first access, so a stage fetches only what it reads."""

    def __init__(self, store: Store, rows: Sequence[ArtifactRow], scratch: Callable[[], Path]) -> None:
        self._store = store
        self._rows = {row.kind: row for row in rows}
        self._scratch = scratch
        self._fetched: dict[str, Path] = {}

    def __getitem__(self, kind: str) -> Path:
        if kind not in self._fetched:
            row = self._rows[kind]
            self._fetched[kind] = self._store.local_copy(
                row.uri, sha256=row.sha256, size=row.bytes, into=self._scratch() / "inputs" / kind
            )
        return self._fetched[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._rows)

    def __len__(self) -> int:
        return len(self._rows)
