"""Face-mesh point indices by anatomical side (the patient's left/right; clinical.md §3).

In an unmirrored image the patient's right is the image's left, so "right" points have the
smaller x on a frontal face.
"""

from ..errors import InvalidInput

SIDES = ("left", "right")


def other(side: str) -> str:
    """The opposite anatomical side.

    >>> other("left")
    'right'
    """
    return "right" if side == "left" else "left"


def check_side(side: str) -> str:
    """`side` if it is "left" or "right" (the patient's own), else `InvalidInput` saying so.

    >>> check_side("right")
    'right'
    """
    if side not in SIDES:
        raise InvalidInput(f"Affected side must be 'left' or 'right' (the patient's own side); got {side!r}.")
    return side


LATERAL_CANTHUS = {"right": 33, "left": 263}
MEDIAL_CANTHUS = {"right": 133, "left": 362}
# Lid contours from the lateral to the medial canthus (both end points included).
UPPER_LID = {
    "right": (33, 246, 161, 160, 159, 158, 157, 173, 133),
    "left": (263, 466, 388, 387, 386, 385, 384, 398, 362),
}
LOWER_LID = {
    "right": (33, 7, 163, 144, 145, 153, 154, 155, 133),
    "left": (263, 249, 390, 373, 374, 380, 381, 382, 362),
}
IRIS_CENTRE = {"right": 468, "left": 473}
IRIS_RING_HORIZONTAL = {"right": (469, 471), "left": (474, 476)}
IRIS_RING_VERTICAL = {"right": (470, 472), "left": (475, 477)}
COMMISSURE = {"right": 61, "left": 291}
BROW_TOP = {"right": (70, 63, 105, 66, 107), "left": (300, 293, 334, 296, 336)}
CHIN_LATERAL = {"right": (32, 201), "left": (262, 421)}
# Inner lip contours from the commissure to the midline (used for dental show).
UPPER_LIP_INNER = {"right": (78, 191, 80, 81, 82, 13), "left": (308, 415, 310, 311, 312, 13)}
LOWER_LIP_INNER = {"right": (78, 95, 88, 178, 87, 14), "left": (308, 324, 318, 402, 317, 14)}
UPPER_LIP_OUTER = {"right": (61, 185, 40, 39, 37, 0), "left": (291, 409, 270, 269, 267, 0)}
LOWER_LIP_OUTER = {"right": (61, 146, 91, 181, 84, 17), "left": (291, 375, 321, 405, 314, 17)}

NASION, NOSE_TIP, SUBNASALE = 168, 1, 2
UPPER_LIP_VERMILION, UPPER_LIP_INNER_MID, LOWER_LIP_INNER_MID, LOWER_LIP_VERMILION = 0, 13, 14, 17
CHIN, MENTON = 199, 152
FOREHEAD = 10
