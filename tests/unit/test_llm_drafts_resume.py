"""A retried audio stage starts from the LLM drafts its newest earlier attempt left behind."""

from pathlib import Path

from sf_worker.handlers.media_stages import LLM_DRAFTS, resume_llm_drafts


def _attempt(stage_dir: Path, attempt: int, drafts: dict[str, str] | None) -> Path:
    work = stage_dir / str(attempt) / "work"
    work.mkdir(parents=True)
    if drafts is not None:
        (work / LLM_DRAFTS).mkdir()
        for name, text in drafts.items():
            (work / LLM_DRAFTS / name).write_text(text, encoding="utf-8")
    return work


def test_the_newest_earlier_attempts_drafts_are_copied_into_the_new_attempt(tmp_path: Path) -> None:
    stage = tmp_path / "job" / "audio"
    _attempt(stage, 1, {"outline.json": "old"})
    _attempt(stage, 2, {"outline.json": "newer", "section-000.json": "s0"})
    _attempt(stage, 10, None)  # failed before the writer saved anything
    work = _attempt(stage, 11, None)

    resume_llm_drafts(work, work / LLM_DRAFTS)

    copied = {p.name: p.read_text(encoding="utf-8") for p in (work / LLM_DRAFTS).iterdir()}
    assert copied == {"outline.json": "newer", "section-000.json": "s0"}
    assert (stage / "2" / "work" / LLM_DRAFTS / "outline.json").is_file()  # the earlier ones stay


def test_a_first_attempt_starts_with_no_drafts(tmp_path: Path) -> None:
    work = _attempt(tmp_path / "job" / "audio", 1, None)

    resume_llm_drafts(work, work / LLM_DRAFTS)

    assert not (work / LLM_DRAFTS).exists()
