"""Dose limits: clinic-configurable warnings and an absolute ceiling that refuses, per product.

Units are the product's own (treatments.md §2.1: not interchangeable), so limits are per product and
never converted. Defaults exist only for onabotulinumtoxinA, where the reference has numbers; every
other product gets only a typing-error guard until the clinic configures it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Limit:
    units: float
    source: str  # where the default comes from, shown beside a warning


@dataclass(frozen=True)
class DoseLimits:
    product: str
    site_warn: Limit | None = None  # one injection point
    side_warn: dict[str, Limit] = field(default_factory=dict)  # per purpose, total per side
    session_warn: Limit | None = None
    site_ceiling: Limit | None = None  # refusal
    session_ceiling: Limit | None = None  # refusal; also the sum over `window_days`
    window_days: int = 30
    configured: bool = True  # False: only the typing-error guard applies

    def to_dict(self) -> dict:
        def lim(x):
            return None if x is None else {"units": x.units, "source": x.source}
        return {"product": self.product, "site_warn": lim(self.site_warn),
                "side_warn": {k: lim(v) for k, v in self.side_warn.items()},
                "session_warn": lim(self.session_warn), "site_ceiling": lim(self.site_ceiling),
                "session_ceiling": lim(self.session_ceiling), "window_days": self.window_days,
                "configured": self.configured}


_LABEL = "BOTOX blepharospasm label (treatments.md §2.1)"
_CHOI = "Choi et al., JPRAS 2013;66:1058 (treatments.md §2.2)"
ONA_DEFAULTS = DoseLimits(
    product="onabotulinumtoxinA",
    site_warn=Limit(5.0, f"little benefit above 5 U per site — {_LABEL}"),
    side_warn={"synkinesis": Limit(26.0, f"synkinetic side 10–26 U in total — {_CHOI}"),
               "balancing": Limit(72.0, f"balancing side 35–72 U in total — {_CHOI}")},
    session_warn=Limit(98.0, f"both sides' highest totals, 26 U + 72 U — {_CHOI}"),
    site_ceiling=Limit(25.0, "project safety stop: 2.5 × the highest per-site dose in synkinesis "
                             "studies (10 U, integrative review, treatments.md §2.2); not from a label"),
    session_ceiling=Limit(200.0, f"no more than 200 U cumulative per 30 days — {_LABEL}"),
)
# Any product, not configured: guards against typing errors only (e.g. 1000 typed for 10.0).
GUARD = Limit(1000.0, "typing-error guard, not a clinical limit: configure this product's limits")


def unconfigured(product: str) -> DoseLimits:
    return DoseLimits(product, site_ceiling=GUARD, session_ceiling=GUARD, configured=False)


DEFAULT_LIMITS: dict[str, DoseLimits] = {"onabotulinumtoxinA": ONA_DEFAULTS}


def limits_for(product: str, clinic: dict | None = None) -> DoseLimits:
    """The limits in force for a product: the clinic's settings over the defaults.

    clinic: {product: {"site_warn": 5, "session_warn": 100, "side_warn": {"synkinesis": 30},
    "site_ceiling": 25, "session_ceiling": 200, "window_days": 30}} — plain numbers in that
    product's units; a number set by the clinic is sourced "clinic setting"."""
    base = DEFAULT_LIMITS.get(product) or unconfigured(product)
    cfg = (clinic or {}).get(product)
    if not cfg:
        return base

    def lim(key):
        v = cfg.get(key)
        return getattr(base, key) if v is None else Limit(float(v), "clinic setting")

    side = dict(base.side_warn)
    for purpose, v in (cfg.get("side_warn") or {}).items():
        side[purpose] = Limit(float(v), "clinic setting")
    ceiling = lim("session_ceiling")
    return replace(base, site_warn=lim("site_warn"), session_warn=lim("session_warn"), side_warn=side,
                   site_ceiling=lim("site_ceiling"), session_ceiling=ceiling,
                   window_days=int(cfg.get("window_days", base.window_days)), configured=True)
