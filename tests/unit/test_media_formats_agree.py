"""The media library keeps its own format names and length caps (it must not import the core);
the queue validates job lengths with the core's. They must never drift apart."""

from sf_media.formats import MAX_LENGTH_SECONDS as MEDIA_MAX
from sf_media.formats import Format as MediaFormat
from sleepy_factory.pipeline import MAX_LENGTH_SECONDS as CORE_MAX
from sleepy_factory.pipeline import Format as CoreFormat


def test_every_core_format_is_a_media_format_with_the_same_cap() -> None:
    assert {f.value for f in CoreFormat} == {f.value for f in MediaFormat}
    for fmt in CoreFormat:
        assert MEDIA_MAX[MediaFormat(fmt.value)] == CORE_MAX[fmt]
