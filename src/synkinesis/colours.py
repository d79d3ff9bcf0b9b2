"""The one colour of the affected side and of the healthy side, everywhere a side is drawn (the
time-series plot, the recording page's player plot, the trend charts), so a reader learns it once."""

AFFECTED = "#c0392b"  # red, solid line
HEALTHY = "#2c5d8a"  # blue, dashed line
DASH_HEALTHY = (5, 3)  # the healthy side's dash pattern (pixels on, off)


def side_colour(side: str, affected_side: str) -> str:
    return AFFECTED if side == affected_side else HEALTHY


__all__ = ["AFFECTED", "DASH_HEALTHY", "HEALTHY", "side_colour"]
