"""Which stretch of frames is what: resting baseline, blinks, eye closures, mouth movements."""

from .episodes import Episode, Segmentation, segment

__all__ = ["Episode", "Segmentation", "segment"]
