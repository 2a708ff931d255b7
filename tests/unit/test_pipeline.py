from sleepy_factory.pipeline import ALL_STAGES, Format, Status, is_finished, promotable, stages_for

N, R, U, D, E = Status.NEW, Status.READY, Status.RUNNING, Status.DONE, Status.ERROR


def test_every_format_runs_audio_then_visuals_then_render() -> None:
    for fmt in Format:
        assert stages_for(fmt) == ("audio", "visuals", "render") == ALL_STAGES


def test_a_fresh_job_may_start_only_its_first_stage() -> None:
    assert promotable([N, N, N]) == [0]


def test_a_stage_waits_until_its_predecessor_is_done() -> None:
    assert promotable([R, N, N]) == []
    assert promotable([U, N, N]) == []
    assert promotable([E, N, N]) == []
    assert promotable([D, N, N]) == [1]
    assert promotable([D, U, N]) == []
    assert promotable([D, D, N]) == [2]


def test_nothing_is_promoted_twice() -> None:
    assert promotable([D, D, D]) == []
    assert promotable([D, R, N]) == []


def test_a_job_is_finished_only_when_every_stage_is_done() -> None:
    assert is_finished([D, D, D])
    assert not is_finished([D, D, E])
    assert not is_finished([D, U, N])
