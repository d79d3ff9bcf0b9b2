"""Read videos and photos as a stream of upright RGB frames.

First stage of the pipeline. A video is decoded one frame at a time (PyAV), so memory stays
flat however long the recording is; a photo (Pillow) is a one-frame stream. Every frame comes
out as an RGB uint8 array of shape (H, W, 3), C-contiguous, turned upright the way a player
would show it (display matrix for videos, EXIF orientation for photos), and never mirrored by us.

Problems with the input raise the `synkinesis.errors` classes with a message that says what is
wrong and what to do; no raw PyAV / Pillow / OpenCV exception escapes.

Rotation convention: `MediaInfo.rotation_deg` is the CLOCKWISE turn (0/90/180/270) applied to
the stored pixels to make them upright. It equals the legacy `rotate` tag phones write (an
iPhone portrait clip stored as landscape has 90) and OpenCV's CAP_PROP_ORIENTATION_META.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, ImageOps

from synkinesis.errors import CorruptMedia, EmptyMedia, MediaNotFound, UnsupportedFormat

log = logging.getLogger(__name__)

VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".webm", ".avi", ".mkv", ".m4v"})
PHOTO_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png"})

_SUPPORTED = (
    f"videos {', '.join(sorted(VIDEO_EXTENSIONS))}; photos {', '.join(sorted(PHOTO_EXTENSIONS))}"
)

# np.rot90-style counter-clockwise quarter turns -> OpenCV code (one pass, contiguous result).
_CV2_ROTATE = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}

# Consecutive undecodable packets after which a video is taken as damaged from there on.
_MAX_BAD_PACKETS = 50

# EXIF Orientation tag (0x0112) -> clockwise degrees Pillow's exif_transpose turns the image.
# 2, 4, 5 and 7 also mirror: that is what the camera asked for, so it is honoured.
_EXIF_CW_DEG = {1: 0, 2: 0, 3: 180, 4: 180, 5: 90, 6: 90, 7: 270, 8: 270}


@dataclass(frozen=True)
class MediaInfo:
    """What a media file holds, as displayed upright.

    width, height: pixels after rotation / EXIF orientation.
    fps: frame rate in frames per second (from the sample table when it is regular, else the
        container's average); 0.0 for photos or if unknown.
    n_frames: the container's frame count, or an estimate from duration * fps; None if unknown;
        1 for photos. The number actually decoded can differ (truncated files, edit lists).
    duration_s: seconds, None if unknown (always None for photos).
    rotation_deg: clockwise degrees (0/90/180/270) applied to the stored pixels.
    codec: decoder name, e.g. "h264", "hevc", "vp9", "mjpeg"; "jpeg"/"png" for photos.
    variable_frame_rate: best effort - True if the container's timestamp table is irregular
        or, without one, its average and nominal rates disagree. Frame.time_s is right anyway.
    """

    path: Path
    kind: str  # "video" or "photo"
    width: int
    height: int
    fps: float
    n_frames: int | None
    duration_s: float | None
    rotation_deg: int
    codec: str
    variable_frame_rate: bool


@dataclass(frozen=True)
class Frame:
    """One decoded picture.

    index: 0-based position in decode (= presentation) order.
    time_s: presentation time in seconds since the first frame (from pts, so right for VFR).
    image: RGB uint8 array (H, W, 3), C-contiguous, upright, never mirrored.
    """

    index: int
    time_s: float
    image: np.ndarray


class MediaSource:
    """An opened video or photo. Use as a context manager; iterate to get `Frame`s.

    Iteration yields one frame at a time and keeps no reference to frames already yielded.
    Iterating again starts over from the first frame (one pass at a time).
    """

    info: MediaInfo

    def __iter__(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self) -> MediaSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.info}>"


def open_media(path: str | Path, threads: int | None = None) -> MediaSource:
    """Validate and open a video or photo.

    Parameters
    ----------
    path : a video (`VIDEO_EXTENSIONS`: mp4, mov, webm, avi, …) or photo (`PHOTO_EXTENSIONS`: jpg, png, …).
    threads : decoder (and RGB conversion) threads for video. None keeps PyAV's default; 1 pins
        decoding to one thread (benchmarks, batch workers); 0 lets FFmpeg pick; N > 1 uses frame +
        slice threading.

    Returns
    -------
    MediaSource : `.info` (`MediaInfo`: kind, upright width × height in px, fps, frame count,
        rotation) and, iterated, one `Frame` at a time: `index`, `time_s` (s) and `image`, an RGB
        uint8 array (H, W, 3), upright and never mirrored. Use it as a context manager.

    Raises `MediaNotFound`, `UnsupportedFormat`, `CorruptMedia` or `EmptyMedia` (all
    `SynkinesisError`, each saying what to do). A video's first frame is decoded here, so an
    undecodable file fails now rather than halfway through a pipeline.

    >>> open_media("visit.txt")
    Traceback (most recent call last):
    synkinesis.errors.MediaNotFound: visit.txt does not exist: check the path and file name and try again.
    """
    if threads is not None and threads < 0:
        raise ValueError(f"threads must be None or >= 0, got {threads}")
    path, kind = _check_path(path)
    if kind == "photo":
        return _PhotoSource(path)
    return _VideoSource(path, threads)


def iter_frames(path: str | Path, threads: int | None = None) -> Iterator[Frame]:
    """Yield the frames of a video or photo, closing the file when done or abandoned."""
    with open_media(path, threads=threads) as source:
        yield from source


def read_photo(path: str | Path) -> np.ndarray:
    """Read a still as an upright RGB uint8 array (H, W, 3), C-contiguous.

    Parameters: `path`, a photo (`PHOTO_EXTENSIONS`); EXIF orientation is applied, greyscale and
    palette images come back as RGB. Raises `UnsupportedFormat` for a video (use `open_media`).
    """
    path, kind = _check_path(path)
    if kind != "photo":
        raise UnsupportedFormat(
            f"{path.name} is a video, but a photo was expected: pass a photo "
            f"({', '.join(sorted(PHOTO_EXTENSIONS))}) or open the video with open_media()."
        )
    image, _, _ = _load_photo(path)
    return image


# --------------------------------------------------------------------------- validation


def _check_path(path: str | Path) -> tuple[Path, str]:
    """Return (path, "video" | "photo") or raise a user-facing error."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise MediaNotFound(
            f"{path} is a folder, not a media file: pass one video or photo file inside it."
        )
    if not path.exists():
        raise MediaNotFound(f"{path} does not exist: check the path and file name and try again.")
    ext = path.suffix.lower()  # phones write .MOV / .JPG
    if ext in VIDEO_EXTENSIONS:
        kind = "video"
    elif ext in PHOTO_EXTENSIONS:
        kind = "photo"
    else:
        raise UnsupportedFormat(
            f"{path.name} has an unsupported file type ({ext or 'no extension'}): "
            f"convert it to one of {_SUPPORTED} and try again."
        )
    try:
        size = path.stat().st_size
    except OSError as e:
        raise MediaNotFound(
            f"{path} cannot be read ({e.strerror}): check the file and try again."
        ) from e
    if size == 0:
        what = "video" if kind == "video" else "photo"
        raise EmptyMedia(
            f"{path.name} is empty (0 bytes): re-export or re-record the {what} and try again."
        )
    return path, kind


# --------------------------------------------------------------------------------- video


class _VideoSource(MediaSource):
    def __init__(self, path: Path, threads: int | None) -> None:
        self._path = path
        self._threads = threads
        self._container: av.container.InputContainer | None = None
        self._closed = False
        self.decode_error: str | None = None  # set if decoding stopped early (truncated file)
        self._frames, first = self._start()
        self._pending_first: av.VideoFrame | None = first
        self.info = self._probe_info(first)

    # Opening -----------------------------------------------------------------------------

    def _start(self) -> tuple[Iterator[av.VideoFrame], av.VideoFrame]:
        """Open the container and decode its first frame (validates the file)."""
        name = self._path.name
        try:
            container = av.open(str(self._path), metadata_errors="ignore")
        except PermissionError as e:
            raise MediaNotFound(
                f"{name} cannot be read (permission denied): check the file's permissions."
            ) from e
        except (av.FFmpegError, OSError, ValueError) as e:
            raise CorruptMedia(
                f"{name} could not be opened as a video ({_reason(e)}); it may be damaged, "
                f"incompletely copied, or not really a {self._path.suffix} file: re-export it "
                "(MP4 with H.264 works everywhere) and try again."
            ) from e
        self._container = container
        streams = [s for s in container.streams.video if not _is_cover_art(s)]
        if not container.streams:
            self.close()
            raise CorruptMedia(
                f"{name} holds no video or audio tracks: it is damaged or was incompletely "
                "copied; copy or export it again and try again."
            )
        if not streams:
            self.close()
            raise EmptyMedia(
                f"{name} has no video track (it may be audio only): record or export a file "
                "with picture and try again."
            )
        stream = self._stream = streams[0]
        if stream.codec_context is None:  # FFmpeg has no decoder for it
            self.close()
            raise UnsupportedFormat(
                f"{name} uses a video codec this program cannot decode: re-export it as MP4 "
                "(H.264) and try again."
            )
        if self._threads is not None:
            # Must be set before the first decode opens the codec.
            stream.codec_context.thread_count = self._threads
            stream.codec_context.thread_type = "SLICE" if self._threads == 1 else "AUTO"

        frames = self._decode(container, stream)
        try:
            first = next(frames)
        except StopIteration:
            error = self.decode_error
            self.close()
            if error is not None:
                raise CorruptMedia(
                    f"{name} could not be decoded ({error}): no frame could be read, so the "
                    "file is damaged or uses an unsupported codec; re-export it as MP4 (H.264) "
                    "and try again."
                ) from None
            raise EmptyMedia(
                f"{name} contains no video frames: re-record or re-export the video and try again."
            ) from None
        return frames, first

    def _decode(self, container, stream) -> Iterator[av.VideoFrame]:
        """Decoded frames, skipping damaged packets and stopping quietly at a damaged tail."""
        bad_in_a_row = 0
        try:
            for packet in container.demux(stream):
                try:
                    frames = stream.decode(packet)
                except av.InvalidDataError as e:
                    # One damaged packet: skip it, unless nothing but damage follows.
                    self.decode_error = _reason(e)
                    bad_in_a_row += 1
                    if bad_in_a_row >= _MAX_BAD_PACKETS:
                        break
                    continue
                bad_in_a_row = 0
                yield from frames
        except (av.FFmpegError, OSError, ValueError) as e:
            # Truncated / damaged container: the caller keeps what decoded; an error with
            # nothing decoded becomes CorruptMedia in _start.
            self.decode_error = _reason(e)
        if self.decode_error is not None:
            log.warning("%s: part could not be decoded (%s)", self._path.name, self.decode_error)

    def _probe_info(self, first: av.VideoFrame) -> MediaInfo:
        stream, container = self._stream, self._container
        self._ccw_turns, rotation_deg = _video_rotation(first, stream)
        self._time_base = float(stream.time_base) if stream.time_base else 0.0
        self._t0 = self._pts_seconds(first)

        fps, vfr = _frame_rate(stream)
        self._fps = fps
        if stream.duration is not None and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = None
        if stream.frames > 0:
            n_frames = int(stream.frames)
        elif duration and fps:  # Matroska/WebM store no count
            n_frames = int(round(duration * fps))
        else:
            n_frames = None

        w, h = first.width, first.height
        if self._ccw_turns % 2:
            w, h = h, w
        return MediaInfo(
            path=self._path,
            kind="video",
            width=w,
            height=h,
            fps=fps,
            n_frames=n_frames,
            duration_s=duration,
            rotation_deg=rotation_deg,
            codec=stream.codec_context.name,
            variable_frame_rate=vfr,
        )

    # Iteration ---------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Frame]:
        if self._closed:
            raise RuntimeError(f"{self._path.name} is closed; open it again with open_media().")
        if self._pending_first is None:  # second pass: start over
            self._close_container()
            self.decode_error = None
            self._frames, self._pending_first = self._start()
        frames, first = self._frames, self._pending_first
        self._pending_first = None  # drop our reference so memory is one frame deep

        yield self._to_frame(0, first)
        del first
        index = 1
        for vf in frames:
            yield self._to_frame(index, vf)
            index += 1

    def _to_frame(self, index: int, vf: av.VideoFrame) -> Frame:
        t = self._pts_seconds(vf)
        if t is None or self._t0 is None:
            time_s = index / self._fps if self._fps else 0.0
        else:
            time_s = t - self._t0
        # A fresh RGB buffer per frame (swscale output); copy only if rows are padded. `threads`
        # bounds the conversion too: PyAV's default starts a swscale thread pool per frame.
        image = (vf.to_ndarray(format="rgb24") if self._threads is None
                 else vf.reformat(format="rgb24", threads=self._threads).to_ndarray())
        if self._ccw_turns:
            image = cv2.rotate(image, _CV2_ROTATE[self._ccw_turns])
        elif not image.flags.c_contiguous:
            image = np.ascontiguousarray(image)
        return Frame(index=index, time_s=time_s, image=image)

    def _pts_seconds(self, vf: av.VideoFrame) -> float | None:
        if vf.pts is None or not self._time_base:
            return None
        return vf.pts * self._time_base

    def _close_container(self) -> None:
        if self._container is not None:
            try:
                self._container.close()
            except (av.FFmpegError, OSError):
                pass
            self._container = None

    def close(self) -> None:
        self._closed = True
        self._pending_first = None
        self._close_container()


def _is_cover_art(stream) -> bool:
    """An MP4/MKV "video" stream that is really one attached picture (album/cover art)."""
    flag = getattr(getattr(av.stream, "Disposition", None), "attached_pic", 0)
    return bool(flag and stream.disposition & flag)


def _video_rotation(first: av.VideoFrame, stream) -> tuple[int, int]:
    """(counter-clockwise quarter turns to apply, clockwise degrees) from the display matrix.

    FFmpeg (PyAV >= 13) exports the container's display matrix / rotate tag as frame side
    data, read back as VideoFrame.rotation: the counter-clockwise angle to turn the stored
    frame to show it. Older builds only had the stream's `rotate` tag (clockwise degrees).
    Any mirroring in the matrix is ignored: frames are never flipped.
    """
    ccw = getattr(first, "rotation", 0) or 0
    if not ccw:
        tag = stream.metadata.get("rotate")
        try:
            ccw = -float(tag) if tag else 0
        except ValueError:
            ccw = 0
    turns = int(round(ccw / 90.0)) % 4
    return turns, (-turns * 90) % 360


def _frame_rate(stream) -> tuple[float, bool]:
    """(frames per second, variable frame rate?) - best effort, without decoding.

    MP4/MOV/AVI index every sample, so their timestamp table is the best evidence: uniform
    steps give the exact rate (the container's average can be skewed by edit lists), and
    irregular steps mean VFR. Matroska/WebM index only keyframes, so there we compare the
    average rate with FFmpeg's nominal (r_frame_rate) one.
    """
    average = _first_positive(stream.average_rate, stream.guessed_rate)
    nominal = _first_positive(stream.base_rate)
    steps = _index_steps(stream)
    if steps is not None and stream.time_base:
        # Tolerate rounding of timestamps (e.g. 24 fps in 1/1000 s ticks: 41, 42, 42, ...).
        median = float(np.median(steps))
        vfr = bool(steps.max() - steps.min() > max(2.0, 0.1 * median))
        if not vfr:
            return 1.0 / (median * float(stream.time_base)), False
        return average or nominal, True
    vfr = bool(average and nominal and abs(average - nominal) > 0.01 * nominal)
    return average or nominal, vfr


def _index_steps(stream) -> np.ndarray | None:
    """Positive steps between the sorted timestamps of the container's full sample index."""
    try:
        entries = stream.index_entries
        n = len(entries)
        if n < 3 or n != stream.frames or n > 200_000:
            return None
        ts = np.sort(np.fromiter((e.timestamp for e in entries), dtype=np.int64, count=n))
    except (AttributeError, av.FFmpegError, ValueError, TypeError):
        return None
    steps = np.diff(ts)
    steps = steps[steps > 0]
    return steps if steps.size >= 2 else None


# --------------------------------------------------------------------------------- photo


class _PhotoSource(MediaSource):
    def __init__(self, path: Path) -> None:
        image, rotation_deg, codec = _load_photo(path)
        self._image: np.ndarray | None = image
        h, w = image.shape[:2]
        self.info = MediaInfo(
            path=path, kind="photo", width=w, height=h, fps=0.0, n_frames=1,
            duration_s=None, rotation_deg=rotation_deg, codec=codec,
            variable_frame_rate=False,
        )

    def __iter__(self) -> Iterator[Frame]:
        if self._image is None:
            raise RuntimeError(f"{self.info.path.name} is closed; open it again with open_media().")
        yield Frame(index=0, time_s=0.0, image=self._image)

    def close(self) -> None:
        self._image = None


def _load_photo(path: Path) -> tuple[np.ndarray, int, str]:
    """(RGB uint8 (H, W, 3) upright, clockwise EXIF rotation in degrees, format name)."""
    name = path.name
    try:
        with Image.open(path) as im:
            im.load()
            codec = (im.format or path.suffix.lstrip(".")).lower()
            orientation = im.getexif().get(0x0112, 1)
            upright = ImageOps.exif_transpose(im)
            rgb = _to_rgb(upright)
    except PermissionError as e:
        raise MediaNotFound(
            f"{name} cannot be read (permission denied): check the file's permissions."
        ) from e
    except Image.DecompressionBombError as e:
        raise UnsupportedFormat(
            f"{name} is too large to process safely ({e}): resize it below 80 megapixels "
            "and try again."
        ) from e
    except (OSError, ValueError, SyntaxError, EOFError, KeyError, TypeError) as e:
        # Pillow's UnidentifiedImageError / "image file is truncated" are OSErrors.
        raise CorruptMedia(
            f"{name} could not be read as an image ({_reason(e)}); it may be damaged, "
            f"incompletely copied, or not really a {path.suffix} file: re-save it as JPEG or "
            "PNG and try again."
        ) from e
    if rgb.size == 0:
        raise EmptyMedia(f"{name} has no pixels: re-take or re-export the photo and try again.")
    return rgb, _EXIF_CW_DEG.get(orientation, 0), codec


def _to_rgb(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> RGB uint8 (H, W, 3), C-contiguous and writable."""
    if im.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        # 16-bit greyscale (e.g. PNG): Pillow's convert would clip at 255, so scale instead.
        grey = np.asarray(im).astype(np.float32)
        grey = np.clip(np.rint(grey / 257.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if "A" in im.mode or "a" in im.mode or "transparency" in im.info:
        # Transparent pixels have no meaningful colour: put them on white.
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        im = Image.alpha_composite(background, rgba)
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.array(im, dtype=np.uint8, order="C")


def _reason(e: BaseException) -> str:
    """A short, single-line reason from a library exception."""
    text = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return " ".join(str(text).split())[:200]


def _first_positive(*rates) -> float:
    for r in rates:
        try:
            v = float(r) if r is not None else 0.0
        except (TypeError, ZeroDivisionError):
            continue
        if v > 0 and math.isfinite(v):
            return v
    return 0.0
