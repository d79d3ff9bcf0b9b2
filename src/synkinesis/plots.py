"""Time-series plot of eye aperture and commissure excursion per side (PNG)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from .segments import Segmentation  # noqa: E402

SHADE = {"smile": "#fdd49e", "pucker": "#c6dbef", "eye_closure": "#d9d9d9", "blink": "#bcbddc"}


def plot_time_series(table: pd.DataFrame, seg: Segmentation, affected_side: str, path: Path, title: str = "") -> Path:
    t = table["time_s"]
    fig, axes = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True)
    for ax, stem, label in ((axes[0], "pfh_mm", "Palpebral fissure height (mm)"),
                            (axes[1], "commissure_excursion_mm", "Commissure excursion (mm)")):
        for e in seg.episodes:
            ax.axvspan(t.iloc[e.start], t.iloc[e.end], color=SHADE.get(e.kind, "#eeeeee"), alpha=0.6, lw=0)
        if seg.rest:
            ax.axvspan(t.iloc[seg.rest[0]], t.iloc[seg.rest[1]], color="#c7e9c0", alpha=0.6, lw=0)
        for side, colour in (("left", "#d95f02"), ("right", "#1b9e77")):
            tag = "affected" if side == affected_side else "healthy"
            ax.plot(t, table[f"{stem}_{side}"], color=colour, lw=1.4, label=f"patient's {side} ({tag})")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[1].set_xlabel("time (s)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.6) for c in ["#c7e9c0", *SHADE.values()]]
    axes[1].legend(handles, ["rest", *[k.replace("_", " ") for k in SHADE]], loc="lower right", fontsize=8, ncol=5)
    fig.suptitle(title or "Eye aperture and mouth movement by anatomical side", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
