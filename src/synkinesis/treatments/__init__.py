"""Treatments (Botox, surgery): vocabulary, checked records, face-anchored injection maps,
before/after, the toxin's effect curve and the due list. Pure core: no web or database imports;
the store and the web layer call these functions.
"""

from .before_after import (PUBLISHED_MDC, Dated, before_after, compare, expression_findings, percent_change_sd,
                           pick_before_after)
from .due import FollowUpDate, TreatmentDate, due_list
from .effect_curve import PracticeValue, cycles, days_since_injection, effect_curve
from .face_map import (Anchor, canonical_template, display_x, locate, locate_in_frame, template_side, to_pixels,
                       to_template)
from .limits import DEFAULT_LIMITS, DoseLimits, Limit, limits_for
from .records import (BotoxSession, Checked, InjectionPoint, Problem, Surgery, TreatmentInvalid, botox_to_dict,
                      check_botox, check_doses, check_surgery, surgery_to_dict, totals, units_per_01ml)
from .regions import muscle_regions, suggest_muscle
from .vocab import (ADVERSE_EVENTS, APPROACHES, MUSCLES, POINT_SIDES, PRODUCTS, PURPOSES, SURGERY_SIDES,
                    SURGERY_TYPES, vocabulary)

__all__ = [
    "ADVERSE_EVENTS", "APPROACHES", "Anchor", "BotoxSession", "Checked", "DEFAULT_LIMITS", "Dated", "DoseLimits",
    "FollowUpDate", "InjectionPoint", "Limit", "MUSCLES", "POINT_SIDES", "PRODUCTS", "PUBLISHED_MDC", "PURPOSES",
    "PracticeValue", "Problem", "SURGERY_SIDES", "SURGERY_TYPES", "Surgery", "TreatmentDate", "TreatmentInvalid",
    "before_after", "botox_to_dict", "canonical_template", "cycles", "check_botox", "check_doses", "check_surgery", "compare",
    "days_since_injection", "display_x", "due_list", "effect_curve", "expression_findings", "percent_change_sd", "limits_for", "locate", "locate_in_frame",
    "muscle_regions",
    "pick_before_after", "suggest_muscle", "surgery_to_dict", "template_side", "to_pixels", "to_template", "totals",
    "units_per_01ml", "vocabulary",
]
