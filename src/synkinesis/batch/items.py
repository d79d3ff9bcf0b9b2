"""What a batch run analyses: items found in a folder or listed in a manifest CSV, and their keys."""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import InvalidInput
from ..frames import PHOTO_EXTENSIONS, VIDEO_EXTENSIONS

MEDIA_EXTENSIONS = VIDEO_EXTENSIONS | PHOTO_EXTENSIONS
MANIFEST_COLUMNS = ("path", "patient_id", "affected_side")  # required; optional: protocol, recorded_at
SIDES = ("left", "right")


@dataclass(frozen=True)
class Item:
    path: str  # as given (manifest) or relative to the input folder; resolved in `location`
    location: str  # absolute path the workers open (a shared filesystem on a cluster)
    patient_id: str
    affected_side: str
    protocol: str = ""
    recorded_at: str = ""

    @property
    def recording_id(self) -> str:
        """Names this item's files: one item of the input, whatever its content or versions."""
        ident = json.dumps([self.path, self.patient_id, self.affected_side, self.protocol])
        return hashlib.sha256(ident.encode()).hexdigest()[:20]

    def to_dict(self) -> dict:
        return asdict(self)


def discover(source: Path, affected_side: str | None = None) -> list[Item]:
    """Items of a folder (every video and photo below it, sorted) or a manifest CSV.

    In a folder the patient is the first sub-folder below it (`DIR/<patient>/…`; files directly in
    DIR are their own patient, named after the file) and every item has `affected_side`.
    """
    source = Path(source)
    if source.is_file() and source.suffix.lower() == ".csv":
        return read_manifest(source, affected_side)
    if not source.is_dir():
        raise InvalidInput(f"{source} is neither a folder nor a manifest .csv file. Give a folder of videos and "
                           "photos, or a CSV with the columns path, patient_id, affected_side.")
    if affected_side not in SIDES:
        raise InvalidInput("A folder has no affected side per recording: pass --affected-side left|right (the "
                           "patients' own side), or use a manifest CSV with an affected_side column.")
    items = []
    for p in sorted(source.rglob("*")):
        if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS and not p.name.startswith("."):
            rel = p.relative_to(source)
            patient = rel.parts[0] if len(rel.parts) > 1 else p.stem
            items.append(Item(rel.as_posix(), str(p.resolve()), patient, affected_side))
    if not items:
        raise InvalidInput(f"No videos or photos were found in {source} ({', '.join(sorted(MEDIA_EXTENSIONS))}).")
    return items


def read_manifest(path: Path, default_side: str | None = None) -> list[Item]:
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = [h.strip() for h in reader.fieldnames or []]
        missing = [c for c in MANIFEST_COLUMNS if c not in header and not (c == "affected_side" and default_side)]
        if missing:
            raise InvalidInput(f"The manifest {path.name} lacks the column(s) {', '.join(missing)}. It needs path, "
                               "patient_id, affected_side (optional: protocol, recorded_at).")
        items = []
        for n, raw in enumerate(reader, start=2):
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
            side = (row.get("affected_side") or default_side or "").lower()
            if not row.get("path") or not row.get("patient_id"):
                raise InvalidInput(f"{path.name}, line {n}: path and patient_id must not be empty.")
            if side not in SIDES:
                raise InvalidInput(f"{path.name}, line {n}: affected_side must be left or right (the patient's own "
                                   f"side); got {row.get('affected_side')!r}.")
            p = Path(row["path"])
            location = p if p.is_absolute() else (path.parent / p)
            items.append(Item(row["path"], str(location.absolute()), row["patient_id"], side,
                              row.get("protocol", ""), row.get("recorded_at", "")))
    if not items:
        raise InvalidInput(f"The manifest {path.name} lists no recordings.")
    return items


def content_hash(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def versions() -> dict[str, str]:
    """Every version a stored number depends on. Asked of the engine and refiners themselves (one
    short-lived tracker here), so a new model or formula invalidates what was done before."""
    from .. import measures
    from ..findings import indices
    from ..landmarks.tracker import FaceTracker

    out = {"formula": measures.FORMULA_VERSION, "indices": indices.INDICES_VERSION}
    for kind, static in (("video", False), ("photo", True)):
        t = FaceTracker(static=static, fps=None if static else 30.0)
        out[f"engine_{kind}"], out[f"refinement_{kind}"] = t.version, t.refinement
        t.close()
    headline = getattr(indices, "HEADLINE_VERSION", None)
    if headline:
        out["headline"] = str(headline)
    return out


def recording_key(digest: str, item: Item, vers: dict[str, str]) -> str:
    """Done-key: same content, side, protocol and versions ⇒ the same numbers ⇒ nothing to redo."""
    ident = json.dumps([digest, item.affected_side, item.protocol, sorted(vers.items())])
    return hashlib.sha256(ident.encode()).hexdigest()[:24]
