"""What the measures mean: synkinesis indices (and, later, automated scale estimates)."""

from .indices import INDICES_VERSION, headline, synkinesis_indices

__all__ = ["INDICES_VERSION", "headline", "synkinesis_indices"]
