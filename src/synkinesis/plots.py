"""Time-series plot of eye aperture and commissure excursion per side (PNG).

Shading says what the face was doing. When a protocol's step times are known (guided recording,
protocol found, or a clinician's correction) the steps are shaded and named by the step (a brow
raise is a brow raise, never "rest"); otherwise the detected movements are, by kind. Blinks are
always drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .colours import DASH_HEALTHY, side_colour  # noqa: E402
from .segments import Segmentation  # noqa: E402

REST_COLOUR = "#c7e9c0"
# Colour per movement kind: detected episode kinds and protocol movements alike.
SHADE = {"smile": "#fdd49e", "small_smile": "#fee8c8", "big_smile": "#fdbb84", "pucker": "#c6dbef",
         "snarl": "#fcbba1", "eee": "#f4cae4", "brow_raise": "#ffffb3", "eye_closure": "#d9d9d9",
         "gentle_eye_closure": "#d9d9d9", "tight_eye_closure": "#a6a6a6", "blink": "#bcbddc",
         "jaw_open": "#e5d8bd", "speech": "#e5d8bd", "other_mouth": "#e5d8bd", "rest": REST_COLOUR}
OTHER_COLOUR = "#eeeeee"
# Detected kinds in words for the legend (a step is labelled with its own name).
KIND_WORDS = {"smile": "smile", "pucker": "pucker", "eye_closure": "eye closure", "blink": "blink",
              "brow_raise": "brow raise", "jaw_open": "jaw opening", "speech": "speech",
              "other_mouth": "other mouth movement"}


def _words(kind: str) -> str:
    return KIND_WORDS.get(kind, kind.replace("_", " "))


def plot_time_series(table: pd.DataFrame, seg: Segmentation, affected_side: str, path: Path, title: str = "",
                     steps: Sequence[dict] | None = None) -> Path:
    """steps: known protocol steps as [{"name", "movement", "start", "end"}] (frames, inclusive),
    e.g. `web.grading.step_spans`; they replace the detected movements in the shading."""
    t = table["time_s"]
    steps = list(steps or [])
    fig, axes = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True)
    legend: dict[str, str] = {}  # label → colour, in drawing order
    spans: list[tuple[int, int, str]] = []
    if steps:
        for s in steps:
            colour = SHADE.get(s["movement"], OTHER_COLOUR)
            spans.append((s["start"], s["end"], colour))  # named over the plot, not in the legend
    else:
        if seg.rest:
            spans.append((seg.rest[0], seg.rest[1], REST_COLOUR))
            legend["rest"] = REST_COLOUR
        for e in seg.episodes:
            if e.kind != "blink":
                spans.append((e.start, e.end, SHADE.get(e.kind, OTHER_COLOUR)))
                legend.setdefault(_words(e.kind), SHADE.get(e.kind, OTHER_COLOUR))
    blinks = [(e.start, e.end, SHADE["blink"]) for e in seg.episodes if e.kind == "blink"]
    if blinks:
        legend.setdefault("blink", SHADE["blink"])
    for ax, stem, label in ((axes[0], "pfh_mm", "Palpebral fissure height (mm)"),
                            (axes[1], "commissure_excursion_mm", "Commissure excursion (mm)")):
        for a, b, colour in spans + blinks:
            ax.axvspan(t.iloc[a], t.iloc[b], color=colour, alpha=0.6, lw=0)
        for side in ("left", "right"):  # one colour per affected / healthy side, as in every chart
            tag = "affected" if side == affected_side else "healthy"
            style = {} if side == affected_side else {"dashes": DASH_HEALTHY}
            ax.plot(t, table[f"{stem}_{side}"], color=side_colour(side, affected_side), lw=1.4,
                    label=f"patient's {side} ({tag})", **style)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    for s in steps:  # each step named over its span, so colours never need decoding
        mid = (t.iloc[s["start"]] + t.iloc[s["end"]]) / 2
        axes[0].annotate(s["name"], (mid, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 3),
                         textcoords="offset points", ha="center", va="bottom", fontsize=7, rotation=30)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[1].set_xlabel("time (s)")
    if legend:
        handles = [plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.6) for c in legend.values()]
        axes[1].legend(handles, list(legend), loc="lower right", fontsize=7, ncol=min(5, len(legend)))
    fig.suptitle(title or "Eye aperture and mouth movement by anatomical side", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
