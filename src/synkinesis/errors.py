"""Errors a user can cause. Each message says what was wrong and what to do.

The CLI turns them into one line and a non-zero exit; the web layer into a 4xx.
Anything that is not a `SynkinesisError` is a bug in this program.
"""


class SynkinesisError(Exception):
    """Base class for problems with the input, not with the program."""


class MediaNotFound(SynkinesisError):
    pass


class UnsupportedFormat(SynkinesisError):
    pass


class CorruptMedia(SynkinesisError):
    pass


class EmptyMedia(SynkinesisError):
    pass


class NoFaceFound(SynkinesisError):
    pass


class FaceTooSmall(SynkinesisError):
    pass


class ExtremePose(SynkinesisError):
    pass


class InvalidInput(SynkinesisError):
    """A value entered by a person (side, calibration, score item) is out of range."""


class EngineUnavailable(SynkinesisError):
    pass
