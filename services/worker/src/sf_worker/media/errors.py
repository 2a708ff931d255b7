"""Errors the media library raises, rooted in the core hierarchy so the worker records them verbatim."""

from sleepy_factory.errors import SleepyFactoryError


class MediaError(SleepyFactoryError):
    """A media step could not produce its output (bad input, a speech engine failed, an encoder refused)."""


class SpeechError(MediaError):
    """A text-to-speech engine is missing or failed."""


class MediaCancelledError(MediaError):
    """The caller asked a media step to stop (its lease was lost, or the worker is shutting down)."""


class RenderCancelledError(MediaCancelledError):
    """The caller asked a render to stop (its lease was lost, or the worker is shutting down)."""
