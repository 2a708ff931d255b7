"""Errors the media library raises; the worker's stage handlers record their messages verbatim."""


class MediaError(Exception):
    """A media step could not produce its output (bad input, a speech engine failed, an encoder refused)."""


class SpeechError(MediaError):
    """A text-to-speech engine is missing or failed."""


class MediaCancelledError(MediaError):
    """The caller asked a media step to stop (its lease was lost, or the worker is shutting down)."""


class RenderCancelledError(MediaCancelledError):
    """The caller asked a render to stop (its lease was lost, or the worker is shutting down)."""
