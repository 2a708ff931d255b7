"""The local store on a real file system: what `put` flushes before the checksum is committed, and
which paths `path` refuses."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sleepy_factory.artifacts.store import LocalStore, OutsideStoreError

JOB = uuid.UUID("00000000-0000-4000-8000-000000000001")


def test_put_flushes_the_file_before_the_rename_and_every_directory_entry_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A power cut cannot be simulated here, so record what reaches the disk, and in which order,
    # by wrapping the real os.fsync and os.replace (both still do their work).
    events: list[tuple[str, Path]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(("fsync", Path(os.readlink(f"/proc/self/fd/{fd}"))))
        real_fsync(fd)

    def replace(source: str | Path, target: str | Path) -> None:
        events.append(("rename", Path(target)))
        real_replace(source, target)

    root = tmp_path / "store"  # put creates it, and the job, stage and attempt directories
    source = tmp_path / "scratch" / "video.mp4"
    source.parent.mkdir()
    source.write_bytes(b"frames")
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)

    artifact = LocalStore(root).put(JOB, "render", 1, kind="video", source=source, media={})

    target = root / str(JOB) / "render" / "1" / "video.mp4"
    assert artifact.uri == f"local:{JOB}/render/1/video.mp4"
    rename = events.index(("rename", target))
    assert ("fsync", source) in events[:rename], "the file's bytes were not flushed before the rename"
    synced_after = {path for kind, path in events[rename + 1 :] if kind == "fsync"}
    new_entries = {target.parent, target.parent.parent, root / str(JOB), root, tmp_path}
    assert new_entries <= synced_after, f"directories not flushed: {new_entries - synced_after}"
    assert target.read_bytes() == b"frames"


@pytest.mark.parametrize(
    "uri",
    ["local:/etc/passwd", "local:../outside/secret", f"local:{JOB}/../../outside/secret", "local:"],
)
def test_path_refuses_uris_that_leave_the_store(tmp_path: Path, uri: str) -> None:
    store = LocalStore(tmp_path / "store")

    with pytest.raises(OutsideStoreError, match="outside the store"):
        store.path(uri)


def test_path_refuses_a_symlink_that_leads_out_of_the_store(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("not an artifact\n")
    store = LocalStore(tmp_path / "store")
    store.root.mkdir()
    (store.root / str(JOB)).symlink_to(outside)

    with pytest.raises(OutsideStoreError, match="outside the store"):
        store.path(f"local:{JOB}/secret")


def test_path_accepts_names_with_spaces_quotes_and_non_ascii(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "My Projects" / "ünï 'q\"")

    path = store.path(f"local:{JOB}/render/1/vidéo final.mp4")

    assert path == store.root / str(JOB) / "render" / "1" / "vidéo final.mp4"
