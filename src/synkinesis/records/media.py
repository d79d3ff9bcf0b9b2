"""Uploads in, analysis files out. Everything for one patient lives under media/p<patient id>/ so deleting
the patient removes one folder.

Upload rule: nothing half-stored. The file is streamed to data/tmp, checked with the core's
`open_media` (type, contents) and for a face, and only then moved into place in the same
transaction that creates its rows; any failure removes the file and rolls the rows back.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..errors import EmptyMedia, NoFaceFound, SynkinesisError, UnsupportedFormat
from ..frames import PHOTO_EXTENSIONS, VIDEO_EXTENSIONS, open_media

CHUNK = 1 << 20
_MEDIA_CHECKS: ThreadPoolExecutor | None = None


def media_checks() -> ThreadPoolExecutor:
    """Threads for upload checks (decoding + face detector), one per core: parallel uploads queue
    here instead of each holding a decoder and a model in memory at once."""
    global _MEDIA_CHECKS
    if _MEDIA_CHECKS is None:
        _MEDIA_CHECKS = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="media-check")
    return _MEDIA_CHECKS


class UploadTooLarge(SynkinesisError):
    pass


def patient_dir(media_dir: Path, patient_id: int) -> Path:
    return media_dir / f"p{patient_id}"


def recording_dir(media_dir: Path, patient_id: int, recording_id: int) -> Path:
    return patient_dir(media_dir, patient_id) / f"r{recording_id}"


def safe_suffix(filename: str) -> str:
    suffix = Path(filename or "").suffix.lower()
    if suffix not in VIDEO_EXTENSIONS | PHOTO_EXTENSIONS:
        allowed = ", ".join(sorted(VIDEO_EXTENSIONS | PHOTO_EXTENSIONS))
        raise UnsupportedFormat(f"{display_name(filename)} is not a video or photo this app reads ({allowed}). "
                                "Export the recording as MP4 or WebM (or a photo as JPEG/PNG) and upload it again.")
    return suffix


def display_name(filename: str) -> str:
    """The file's own name, stripped of folders and odd characters, for messages and the DB."""
    name = re.sub(r"[^\w.\- ]+", "_", Path(filename or "upload").name)[:200]
    return name or "upload"


async def spool_upload(upload, tmp_dir: Path, max_bytes: int) -> Path:
    """Stream an UploadFile to a temp file with the right suffix, enforcing the size limit while reading."""
    suffix = safe_suffix(upload.filename)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    path = tmp_dir / f"upload-{secrets.token_hex(8)}{suffix}"
    size = 0
    try:
        with open(path, "wb") as out:
            while chunk := await upload.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadTooLarge(f"{display_name(upload.filename)} is larger than the "
                                         f"{max_bytes / 1024 / 1024:g} MB limit. Record a shorter clip or "
                                         "lower the resolution.")
                out.write(chunk)
        if size == 0:
            raise EmptyMedia(f"{display_name(upload.filename)} is empty (0 bytes): the recording did not save. "
                             "Record or export it again.")
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


MAX_PIXELS = 50_000_000  # per frame: above any phone photo or 8K video; a decoded frame is ~150 MB
KEY_FRAME_MAX_SIDE = 1280  # key frames are stored at display size, not at the camera's


def check_dimensions(path: Path, name: str, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse a picture too large to decode safely, from its header alone (nothing is decoded):
    a 3 MB JPEG can claim 12000 × 12000 pixels and take gigabytes once decoded."""
    size = None
    try:
        if path.suffix.lower() in PHOTO_EXTENSIONS:
            import warnings

            from PIL import Image

            with warnings.catch_warnings():  # Pillow's bomb warning: this check is the answer to it
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                with Image.open(path) as im:  # lazy: reads the header only
                    size = im.size
        else:
            import av

            with av.open(str(path), metadata_errors="ignore") as container:
                streams = container.streams.video
                if streams:
                    size = (streams[0].codec_context.width, streams[0].codec_context.height)
    except Exception as e:  # noqa: BLE001 - not readable: open_media says why, in the user's words
        if type(e).__name__ != "DecompressionBombError":
            return
        size = (0, 0)
    if size is None:
        return
    w, h = size
    if w * h > max_pixels or size == (0, 0):
        what = f"{w} × {h} pixels ({w * h / 1e6:.0f} megapixels)" if w * h else "too many pixels"
        raise UnsupportedFormat(f"{name} is {what}, more than the {max_pixels / 1e6:g}-megapixel limit: resize it "
                                "(4000 pixels on the long side is plenty) and upload it again.")


def check_media(path: Path, original_name: str, face_check_frames: int) -> str:
    """Validate with the core and look for a face in a few frames; returns "video" or "photo".

    Only a handful of frames spread over the first seconds go through the face detector: enough to
    refuse a recording of a wall at upload time, without doing the analysis in the request. The
    pixel size is checked from the header first; a "video" of a single frame (a still picture
    renamed .mp4) is refused, since nothing in it moves.
    """
    from ..landmarks import make_engine
    from ..pipeline import MIN_VIDEO_FRAMES

    name = display_name(original_name)
    check_dimensions(path, name)
    found, count = False, 0
    try:
        with open_media(path) as media:
            kind = media.info.kind
            fps = media.info.fps or 30.0
            n = media.info.n_frames or int(fps * 10)
            window = min(n, int(fps * 10))  # first ten seconds at most
            wanted = set(np.linspace(0, max(window - 1, 0), max(face_check_frames, 1)).astype(int).tolist())
            engine = make_engine(static=True, max_faces=1)
            try:
                for frame in media:
                    count += 1
                    if not found and frame.index in wanted and engine.find_faces(frame.image):
                        found = True
                    if (found or frame.index >= max(wanted)) and (kind == "photo" or count >= MIN_VIDEO_FRAMES):
                        break
            finally:
                engine.close()
    except SynkinesisError as e:
        raise type(e)(str(e).replace(str(path), name).replace(path.name, name)) from None
    if kind == "video" and count < MIN_VIDEO_FRAMES:
        raise EmptyMedia(f"{name} holds a single picture, not a video, so no movement can be measured. Upload a "
                         "video of the face (a few seconds at rest, then the movements), or save the picture as "
                         "a .jpg or .png photo and upload that.")
    if found:
        return kind
    raise NoFaceFound(f"No face was found in {name}. Record the patient facing the camera, face fully in view "
                      "and evenly lit, then upload again.")


def move_into_place(tmp: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(tmp), final)


def draw_landmarks(rgb: np.ndarray, points: np.ndarray, max_side: int = KEY_FRAME_MAX_SIDE) -> np.ndarray:
    """A copy of the frame, at most `max_side` pixels on its long side, with the 478 points drawn
    (BGR for cv2.imwrite)."""
    import cv2

    scale = min(1.0, max_side / max(rgb.shape[:2]))
    if scale < 1.0:
        rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)
        points = points * scale
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if np.isfinite(points).all():
        r = max(1, round(min(bgr.shape[:2]) / 300))
        for x, y in points[:, :2]:
            cv2.circle(bgr, (int(round(x)), int(round(y))), r, (80, 220, 80), -1, lineType=cv2.LINE_AA)
    return bgr


CLOSEUPS = tuple(f"{region}_{side}" for region in ("eye", "mouth") for side in ("right", "left"))


def _fit(bgr: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    import cv2

    scale = min(1.0, max_side / max(bgr.shape[:2]))
    if scale < 1.0:
        bgr = cv2.resize(bgr, (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    return bgr, scale


def write_key_frame(rgb: np.ndarray, points: np.ndarray, sizes: dict, stem: Path) -> dict:
    """One key frame's pictures, as PNG files beside `stem`: the whole frame (`path`, for treatment
    maps), the face cropped (`face`: the landmarks' box plus a margin), the same crop with light
    landmarks (`marks`), and the eye and mouth close-ups of each anatomical side (`closeups`,
    "eye_left" …, same size on both sides and in every frame of the recording: `sizes` from
    `crops.closeup_sizes`). Returns the paths and the boxes (`crop`, `closeup_boxes`) in frame pixels."""
    import cv2

    from ..crops import closeup_box, crop, draw_marks, face_box

    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    out: dict = {"path": stem.with_suffix(".png")}
    cv2.imwrite(str(out["path"]), _fit(bgr, KEY_FRAME_MAX_SIDE)[0])
    box = face_box(points, rgb.shape)
    face, scale = _fit(crop(bgr, box), KEY_FRAME_MAX_SIDE)
    out["face"], out["marks"] = stem.with_name(stem.name + "_face.png"), stem.with_name(stem.name + "_marks.png")
    cv2.imwrite(str(out["face"]), face)
    shifted = (np.asarray(points, float)[:, :2] - box[:2]) * scale
    cv2.imwrite(str(out["marks"]), draw_marks(face, shifted))
    out["crop"], out["closeups"], out["closeup_boxes"] = list(box), {}, {}
    if np.isfinite(np.asarray(points, float)[:, :2]).all():
        for name in CLOSEUPS:
            region, side = name.split("_")
            cbox = closeup_box(points, rgb.shape, region, side, sizes[region])
            if cbox is None:
                continue
            p = stem.with_name(f"{stem.name}_{name}.png")
            cv2.imwrite(str(p), crop(bgr, cbox))
            out["closeups"][name], out["closeup_boxes"][name] = p, list(cbox)
    return out
