"""Treatment vocabulary as data: toxin products, muscles, purposes, approaches, surgeries, adverse events.

Keys are stable codes stored in the database and sent by the API; labels are what a person reads.
Adding a muscle or a product is one entry here (plus, for a muscle, its mesh region in
`regions.MUSCLE_REGIONS` so the map editor can suggest it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Product:
    key: str
    generic: str
    brands: tuple[str, ...]
    # Vial sizes in common use (a suggestion for the form, not a rule; [U] except onabotulinumtoxinA,
    # whose 50/100/200 U vials are in treatments.md §2.1).
    vial_sizes_u: tuple[float, ...] = ()

    @property
    def unit_label(self) -> str:
        """Units are the product's own and never converted (treatments.md §2.1): say whose they are."""
        return f"U ({self.generic})" if self.key != "other" else "U (other product)"


PRODUCTS: dict[str, Product] = {p.key: p for p in (
    Product("onabotulinumtoxinA", "onabotulinumtoxinA", ("Botox", "Botox Cosmetic", "Vistabel"), (50, 100, 200)),
    Product("abobotulinumtoxinA", "abobotulinumtoxinA", ("Dysport", "Azzalure"), (125, 300, 500)),
    Product("incobotulinumtoxinA", "incobotulinumtoxinA", ("Xeomin", "Bocouture"), (50, 100, 200)),
    Product("prabotulinumtoxinA", "prabotulinumtoxinA", ("Jeuveau", "Nuceiva"), (100,)),
    Product("daxibotulinumtoxinA", "daxibotulinumtoxinA", ("Daxxify",), (50, 100)),
    Product("other", "other botulinum toxin", ()),
)}


@dataclass(frozen=True)
class Muscle:
    key: str
    clinical: str  # the clinician's name
    plain: str  # what a patient understands
    region: str  # periocular, forehead, glabella, nose, midface, perioral, chin, neck
    typical_roles: tuple[str, ...]  # purposes it is usually injected for (treatments.md §2.2, clinical.md §1)
    midline: bool = False  # may be injected on the midline (one point for both sides)
    intraoral: bool = False  # can be reached through the mouth


_BOTH = ("synkinesis", "balancing")
MUSCLES: dict[str, Muscle] = {m.key: m for m in (
    Muscle("orbicularis_oculi_pretarsal", "Orbicularis oculi, pretarsal", "Eyelid muscle (on the lid)",
           "periocular", ("synkinesis",)),
    Muscle("orbicularis_oculi_preseptal", "Orbicularis oculi, preseptal", "Eyelid muscle (around the lid)",
           "periocular", ("synkinesis",)),
    Muscle("orbicularis_oculi_orbital", "Orbicularis oculi, orbital", "Muscle around the eye socket",
           "periocular", ("synkinesis",)),
    Muscle("corrugator", "Corrugator supercilii", "Frown muscle (inner eyebrow)", "glabella", _BOTH),
    Muscle("procerus", "Procerus", "Muscle between the eyebrows", "glabella", _BOTH, midline=True),
    Muscle("frontalis", "Frontalis", "Forehead muscle", "forehead", _BOTH),
    Muscle("nasalis", "Nasalis", "Nose muscle", "nose", ("synkinesis",)),
    Muscle("levator_labii_superioris", "Levator labii superioris (alaeque nasi)", "Upper-lip lifter beside the nose",
           "midface", _BOTH),
    Muscle("zygomaticus_major", "Zygomaticus major", "Main smile muscle", "midface", _BOTH, intraoral=True),
    Muscle("zygomaticus_minor", "Zygomaticus minor", "Upper-lip smile muscle", "midface", _BOTH),
    Muscle("risorius", "Risorius", "Muscle pulling the mouth corner sideways", "perioral", _BOTH, intraoral=True),
    Muscle("buccinator", "Buccinator", "Cheek muscle", "perioral", ("synkinesis",), intraoral=True),
    Muscle("orbicularis_oris", "Orbicularis oris", "Lip muscle", "perioral", _BOTH, midline=True, intraoral=True),
    Muscle("depressor_anguli_oris", "Depressor anguli oris", "Muscle pulling the mouth corner down", "perioral",
           _BOTH, intraoral=True),
    Muscle("depressor_labii_inferioris", "Depressor labii inferioris", "Lower-lip lowering muscle", "chin",
           ("balancing", "synkinesis"), intraoral=True),
    Muscle("mentalis", "Mentalis", "Chin muscle", "chin", ("synkinesis",), midline=True, intraoral=True),
    Muscle("platysma", "Platysma", "Neck muscle", "neck", ("synkinesis",)),
    Muscle("other", "Other muscle", "Other muscle", "other", _BOTH, midline=True, intraoral=True),
)}

PURPOSES: dict[str, str] = {
    "synkinesis": "Treats synkinesis (affected side)",
    "balancing": "Balances the other side",
    "other": "Other purpose",
}

APPROACHES: dict[str, str] = {
    "transcutaneous": "Through the skin",
    "intraoral": "Through the mouth",
}

# Anatomical sides of an injection point; "midline" only for muscles with Muscle.midline.
POINT_SIDES: dict[str, str] = {"right": "Patient's right", "left": "Patient's left", "midline": "Midline"}
SURGERY_SIDES: dict[str, str] = {"right": "Patient's right", "left": "Patient's left", "both": "Both sides"}

SURGERY_TYPES: dict[str, str] = {
    "selective_neurectomy": "Selective neurectomy",
    "platysma_myectomy": "Platysma myectomy / slip removal",
    "dao_myectomy": "Depressor anguli oris myectomy",
    "free_functional_muscle_transfer": "Free functional muscle transfer",
    "temporalis_transfer": "Temporalis tendon transfer",
    "cross_face_nerve_graft": "Cross-face nerve graft",
    "nerve_transfer": "Nerve transfer",
    "eyelid_weight": "Eyelid weight",
    "brow_lift": "Brow lift",
    "other": "Other surgery",
}

# Recorded at follow-up (treatments.md §2.1 "adverse events at follow-up"; the usual toxin effects).
ADVERSE_EVENTS: dict[str, str] = {
    "ptosis": "Drooping eyelid",
    "brow_ptosis": "Drooping eyebrow",
    "lagophthalmos": "Eye does not close fully",
    "dry_eye": "Dry or irritated eye",
    "diplopia": "Double vision",
    "oral_incompetence": "Lip weakness / drooling",
    "smile_asymmetry": "Smile more uneven",
    "dysphagia": "Difficulty swallowing",
    "neck_weakness": "Neck weakness",
    "bruising": "Bruising",
    "headache": "Headache",
    "other": "Other",
}


def choices(table: dict) -> str:
    """The allowed keys, for an error message."""
    return ", ".join(table)


def vocabulary() -> dict:
    """Every choice list with its labels, for forms, the map editor and the JSON API."""
    return {
        "products": [{"key": p.key, "generic": p.generic, "brands": list(p.brands), "unit": p.unit_label,
                      "vial_sizes_u": list(p.vial_sizes_u)} for p in PRODUCTS.values()],
        "muscles": [{"key": m.key, "label": m.clinical, "plain": m.plain, "region": m.region,
                     "typical_purposes": list(m.typical_roles), "midline": m.midline, "intraoral": m.intraoral}
                    for m in MUSCLES.values()],
        "purposes": PURPOSES, "approaches": APPROACHES, "point_sides": POINT_SIDES,
        "surgery_types": SURGERY_TYPES, "surgery_sides": SURGERY_SIDES, "adverse_events": ADVERSE_EVENTS,
    }
