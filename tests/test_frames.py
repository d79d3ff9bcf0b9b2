"""Tests for synkinesis.frames: formats, orientation, timing, errors and flat memory.

All media is generated in tmp_path with PyAV / Pillow: small, so the suite stays fast.
"""

from __future__ import annotations

import gc
import os
import tracemalloc
import weakref
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from synkinesis.errors import (
    CorruptMedia,
    EmptyMedia,
    MediaNotFound,
    SynkinesisError,
    UnsupportedFormat,
)
from synkinesis.frames import (
    PHOTO_EXTENSIONS,
    VIDEO_EXTENSIONS,
    Frame,
    MediaInfo,
    MediaSource,
    iter_frames,
    open_media,
    read_photo,
)

H, W = 48, 64


# ------------------------------------------------------------------------------ helpers


def pattern(h: int = H, w: int = W) -> np.ndarray:
    """Asymmetric RGB test card: wide red block top-left, blue block bottom-right on grey.

    Every rotation and mirror of it looks different, so orientation mistakes show.
    """
    img = np.full((h, w, 3), 60, np.uint8)
    img[: h // 3, : w // 2] = (255, 0, 0)
    img[h - h // 3 :, w - w // 4 :] = (0, 0, 255)
    return img


def mae(a: np.ndarray, b: np.ndarray) -> float:
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def have(codec: str) -> bool:
    return codec in av.codecs_available


def make_video(
    path: Path,
    codec: str = "libx264",
    n: int = 10,
    w: int = W,
    h: int = H,
    rate: int = 30,
    pix_fmt: str = "yuv420p",
    rotation: int | None = None,
    pts_ms: list[int] | None = None,
    faststart: bool = False,
) -> Path:
    """Write a small test video; `rotation` is a PyAV display rotation (counter-clockwise)."""
    if not have(codec):
        pytest.skip(f"this PyAV build has no {codec} encoder")
    card = pattern(h, w)
    out = av.open(str(path), "w", options={"movflags": "faststart"} if faststart else {})
    opts = {"preset": "ultrafast"} if codec == "libx264" else {}
    stream = out.add_stream(codec, rate=rate, options=opts)
    stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
    if pts_ms is not None:
        stream.time_base = Fraction(1, 1000)
        stream.codec_context.time_base = Fraction(1, 1000)
    if rotation is not None:
        stream.set_display_rotation(rotation)
    for i in range(n):
        frame = av.VideoFrame.from_ndarray(card, format="rgb24")
        if pts_ms is not None:
            frame.pts, frame.time_base = pts_ms[i], Fraction(1, 1000)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path


def assert_actionable(err: SynkinesisError, path: Path) -> None:
    """A message names the file and tells the person what to do."""
    msg = str(err)
    assert path.name in msg, msg
    assert ":" in msg, msg
    assert any(w in msg for w in ("try again", "check", "pass ", "convert", "export")), msg


# ------------------------------------------------------------------------------ formats

FORMATS = [
    (".mp4", "libx264", "yuv420p", "h264"),
    (".mov", "libx264", "yuv420p", "h264"),
    (".m4v", "libx264", "yuv420p", "h264"),
    (".mkv", "mpeg4", "yuv420p", "mpeg4"),
    (".webm", "libvpx", "yuv420p", "vp8"),
    (".webm", "libvpx-vp9", "yuv420p", "vp9"),
    (".avi", "mjpeg", "yuvj420p", "mjpeg"),
]


@pytest.mark.parametrize(
    "ext,encoder,pix_fmt,decoder", FORMATS, ids=[f"{e}-{c}" for e, c, *_ in FORMATS]
)
def test_video_formats_decode_upright_rgb_frames(tmp_path, ext, encoder, pix_fmt, decoder):
    path = make_video(tmp_path / f"clip{ext}", encoder, pix_fmt=pix_fmt)
    with open_media(path, threads=1) as src:
        assert isinstance(src, MediaSource)
        info = src.info
        assert isinstance(info, MediaInfo)
        assert (info.kind, info.width, info.height, info.codec) == ("video", W, H, decoder)
        assert info.path == path
        assert info.fps == pytest.approx(30.0, rel=1e-3)
        assert info.n_frames is not None and abs(info.n_frames - 10) <= 1  # WebM/MKV: estimate
        assert info.duration_s == pytest.approx(10 / 30, abs=0.05)
        assert info.rotation_deg == 0
        assert info.variable_frame_rate is False
        frames = [(f.index, f.time_s, mae(f.image, pattern())) for f in src if _check_image(f)]
    assert [i for i, _, _ in frames] == list(range(10))
    assert [t for _, t, _ in frames] == pytest.approx([i / 30 for i in range(10)], abs=1e-3)
    assert max(err for *_, err in frames) < 12


def _check_image(f: Frame) -> bool:
    assert isinstance(f, Frame)
    assert f.image.dtype == np.uint8 and f.image.ndim == 3 and f.image.shape[2] == 3
    assert f.image.flags.c_contiguous
    return True


def test_uppercase_extension_and_odd_size_give_contiguous_frames(tmp_path):
    # 70 px wide rows are padded inside FFmpeg; we must still hand out C-contiguous arrays.
    path = make_video(tmp_path / "PHONE.MP4", w=70, h=50, n=3)
    frames = list(iter_frames(path))
    assert len(frames) == 3
    assert all(f.image.shape == (50, 70, 3) and f.image.flags.c_contiguous for f in frames)


def test_threads_option_gives_same_frames(tmp_path):
    path = make_video(tmp_path / "t.mp4", n=12)
    one = [f.image for f in iter_frames(path, threads=1)]
    two = [f.image for f in iter_frames(path, threads=2)]
    auto = [f.image for f in iter_frames(path)]
    assert len(one) == len(two) == len(auto) == 12
    assert all(np.array_equal(a, b) and np.array_equal(a, c) for a, b, c in zip(one, two, auto))
    with pytest.raises(ValueError):
        open_media(path, threads=-1)


def test_source_can_be_iterated_again_and_not_after_close(tmp_path):
    path = make_video(tmp_path / "again.mp4", n=5)
    src = open_media(path)
    first = [f.time_s for f in src]
    second = [f.time_s for f in src]
    assert len(first) == 5 and first == second
    src.close()
    with pytest.raises(RuntimeError):
        next(iter(src))


def test_extension_sets():
    assert VIDEO_EXTENSIONS == {".mp4", ".mov", ".webm", ".avi", ".mkv", ".m4v"}
    assert PHOTO_EXTENSIONS == {".jpg", ".jpeg", ".png"}


# ----------------------------------------------------------------------------- rotation


@pytest.mark.parametrize("ccw,expected_cw", [(90, 270), (-90, 90), (180, 180)])
def test_display_rotation_is_applied(tmp_path, ccw, expected_cw):
    if not hasattr(av.video.stream.VideoStream, "set_display_rotation"):
        pytest.skip(f"PyAV {av.__version__} cannot write a display matrix")
    path = make_video(tmp_path / f"rot{ccw}.mp4", rotation=ccw, n=4)
    # The display matrix rotates counter-clockwise by `ccw` to show the picture upright.
    upright = np.rot90(pattern(), k=ccw // 90)
    with open_media(path) as src:
        assert src.info.rotation_deg == expected_cw
        assert (src.info.height, src.info.width) == upright.shape[:2]
        frames = list(src)
    assert len(frames) == 4
    for f in frames:
        assert f.image.flags.c_contiguous
        assert mae(f.image, upright) < 12

    # Cross-check against an independent reader: OpenCV's FFmpeg backend auto-rotates.
    cv2 = pytest.importorskip("cv2")
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not cap.isOpened():
        pytest.skip("OpenCV has no FFmpeg backend to cross-check with")
    cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
    ok, bgr = cap.read()
    assert ok
    assert int(cap.get(cv2.CAP_PROP_ORIENTATION_META)) % 360 == expected_cw
    assert mae(frames[0].image, bgr[:, :, ::-1].copy()) < 6
    cap.release()


# ------------------------------------------------------------------------------ timing


def test_variable_frame_rate_times_follow_pts(tmp_path):
    pts_ms = [0, 40, 70, 150, 160, 300, 310, 400, 520, 600]
    path = make_video(tmp_path / "vfr.mp4", pts_ms=pts_ms)
    with open_media(path) as src:
        assert src.info.variable_frame_rate is True
        times = [f.time_s for f in src]
    assert times == pytest.approx([p / 1000 for p in pts_ms], abs=1e-6)


def test_times_are_relative_to_the_first_frame(tmp_path):
    pts_ms = [500 + 33 * i for i in range(6)]  # stream starts at 0.5 s
    path = make_video(tmp_path / "late.mkv", codec="mpeg4", n=6, pts_ms=pts_ms)
    times = [f.time_s for f in iter_frames(path)]
    assert times == pytest.approx([0.033 * i for i in range(6)], abs=1e-6)


# ------------------------------------------------------------------------------- photos


def _save_jpeg_with_orientation(path: Path, orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pattern()).save(path, quality=95, exif=exif)


@pytest.mark.parametrize(
    "orientation,k,cw",
    [(1, 0, 0), (3, 2, 180), (6, -1, 90), (8, 1, 270)],  # EXIF: 6 = turn 90° clockwise to view
)
def test_photo_exif_orientation_is_applied(tmp_path, orientation, k, cw):
    path = tmp_path / f"o{orientation}.jpg"
    _save_jpeg_with_orientation(path, orientation)
    expected = np.rot90(pattern(), k=k)
    image = read_photo(path)
    assert image.dtype == np.uint8 and image.flags.c_contiguous
    assert mae(image, expected) < 8
    with open_media(path) as src:
        info = src.info
        frames = list(src)
    assert (info.kind, info.codec, info.rotation_deg) == ("photo", "jpeg", cw)
    assert (info.height, info.width) == expected.shape[:2]
    assert (info.fps, info.n_frames, info.duration_s) == (0.0, 1, None)
    assert info.variable_frame_rate is False
    assert len(frames) == 1 and frames[0].index == 0 and frames[0].time_s == 0.0
    assert np.array_equal(frames[0].image, image)


def test_photo_modes_become_rgb(tmp_path):
    card = pattern()
    cases: dict[str, tuple[Image.Image, np.ndarray]] = {}

    grey = (np.arange(H * W).reshape(H, W) % 256).astype(np.uint8)
    cases["grey.png"] = (Image.fromarray(grey, "L"), np.repeat(grey[:, :, None], 3, 2))

    wide = np.zeros((H, W), np.uint16)
    wide[:, : W // 2] = 65535
    wide[:, W // 2 :] = 32896  # 128 * 257
    want = np.where(wide == 65535, 255, 128).astype(np.uint8)
    cases["grey16.png"] = (Image.fromarray(wide), np.repeat(want[:, :, None], 3, 2))

    rgba = np.dstack([card, np.full((H, W), 255, np.uint8)])
    rgba[:8] = (0, 0, 0, 0)  # fully transparent rows -> white, not black
    want = card.copy()
    want[:8] = 255
    cases["rgba.png"] = (Image.fromarray(rgba, "RGBA"), want)

    def to_palette(rgb):  # exact 3-colour palette (the default web palette would shift grey)
        return Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)

    cases["palette.png"] = (to_palette(card), card)

    pal_t = to_palette(card)
    pal_t.info["transparency"] = pal_t.getpixel((0, 0))  # the red block's index
    want = card.copy()
    want[np.all(card == (255, 0, 0), axis=2)] = 255
    cases["palette_t.png"] = (pal_t, want)

    la = Image.fromarray(np.dstack([grey, np.full((H, W), 255, np.uint8)]), "LA")
    cases["la.png"] = (la, np.repeat(grey[:, :, None], 3, 2))

    cases["cmyk.jpg"] = (Image.fromarray(card).convert("CMYK"), card)

    for name, (im, want) in cases.items():
        path = tmp_path / name
        im.save(path, **({"quality": 95} if name.endswith(".jpg") else {}))
        got = read_photo(path)
        assert got.shape == (H, W, 3) and got.dtype == np.uint8, name
        assert got.flags.c_contiguous and got.flags.writeable, name
        tol = 10 if name.endswith(".jpg") else 0.5
        assert mae(got, want) <= tol, name


def test_read_photo_rejects_a_video(tmp_path):
    path = make_video(tmp_path / "v.mp4", n=2)
    with pytest.raises(UnsupportedFormat) as e:
        read_photo(path)
    assert_actionable(e.value, path)


def test_iter_frames_on_a_photo(tmp_path):
    path = tmp_path / "still.jpeg"
    Image.fromarray(pattern()).save(path)
    frames = list(iter_frames(path))
    assert len(frames) == 1 and frames[0].image.shape == (H, W, 3)


# ------------------------------------------------------------------------------- errors


def test_missing_path(tmp_path):
    path = tmp_path / "nope.mp4"
    with pytest.raises(MediaNotFound) as e:
        open_media(path)
    assert_actionable(e.value, path)
    with pytest.raises(MediaNotFound):
        read_photo(tmp_path / "nope.jpg")


def test_directory_given(tmp_path):
    folder = tmp_path / "clips.mp4"
    folder.mkdir()
    with pytest.raises(MediaNotFound) as e:
        open_media(folder)
    assert "folder" in str(e.value)
    assert_actionable(e.value, folder)


@pytest.mark.parametrize("name", ["face.gif", "notes.txt", "clip.flv", "noext"])
def test_unsupported_extension_lists_supported_ones(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"x" * 100)
    with pytest.raises(UnsupportedFormat) as e:
        open_media(path)
    msg = str(e.value)
    assert all(ext in msg for ext in (*VIDEO_EXTENSIONS, *PHOTO_EXTENSIONS)), msg
    assert_actionable(e.value, path)


@pytest.mark.parametrize("name", ["clip.mp4", "photo.jpg", "photo.png", "clip.webm"])
def test_zero_byte_file(tmp_path, name):
    path = tmp_path / name
    path.touch()
    with pytest.raises(EmptyMedia) as e:
        open_media(path)
    assert "0 bytes" in str(e.value)
    assert_actionable(e.value, path)


@pytest.mark.parametrize("ext", sorted(VIDEO_EXTENSIONS | PHOTO_EXTENSIONS))
def test_random_bytes_are_corrupt_media(tmp_path, ext):
    path = tmp_path / f"junk{ext}"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(CorruptMedia) as e:
        list(iter_frames(path))
    assert_actionable(e.value, path)


@pytest.mark.parametrize("name", ["notes.jpg", "notes.png", "notes.mp4", "notes.avi"])
def test_text_file_with_media_extension(tmp_path, name):
    path = tmp_path / name
    path.write_text("this is not a picture\n" * 40)
    with pytest.raises(CorruptMedia) as e:
        open_media(path)
    assert_actionable(e.value, path)


def test_truncated_jpeg(tmp_path):
    path = tmp_path / "cut.jpg"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (H, W, 3), dtype=np.uint8)).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptMedia) as e:
        read_photo(path)
    assert_actionable(e.value, path)


def test_audio_only_file_has_no_video_track(tmp_path):
    if not have("aac"):
        pytest.skip("this PyAV build has no aac encoder")
    path = tmp_path / "voice.mp4"
    out = av.open(str(path), "w")
    stream = out.add_stream("aac", rate=44100)
    for i in range(3):
        silence = np.zeros((1, 1024), np.float32)
        frame = av.AudioFrame.from_ndarray(silence, format="fltp", layout="mono")
        frame.sample_rate, frame.pts = 44100, i * 1024
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    with pytest.raises(EmptyMedia) as e:
        open_media(path)
    assert "no video track" in str(e.value)
    assert_actionable(e.value, path)


def test_video_stream_without_frames_is_empty(tmp_path):
    # AVI writes its header and an empty video stream even when no frame was encoded.
    path = tmp_path / "nothing.avi"
    out = av.open(str(path), "w")
    stream = out.add_stream("mjpeg", rate=30)
    stream.width, stream.height, stream.pix_fmt = W, H, "yuvj420p"
    out.start_encoding()
    out.close()
    with pytest.raises(EmptyMedia) as e:
        open_media(path)
    assert_actionable(e.value, path)


def test_truncated_video_yields_what_it_can(tmp_path):
    # moov first (faststart), then cut the sample data: the head decodes, the tail is gone.
    full = make_video(tmp_path / "full.mp4", n=30, faststart=True)
    data = full.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.9)])
    with open_media(cut) as src:
        assert src.info.n_frames == 30  # the container still promises all of them
        frames = list(src)  # must not raise
    assert 0 < len(frames) < 30
    assert [f.index for f in frames] == list(range(len(frames)))


def test_truncated_streaming_container_yields_what_it_can(tmp_path):
    full = make_video(tmp_path / "full.mkv", codec="mpeg4", n=20)
    data = full.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: int(len(data) * 0.7)])
    frames = list(iter_frames(cut))
    assert 0 < len(frames) < 20


def test_truncated_mp4_without_index_is_corrupt(tmp_path):
    # PyAV writes the moov index at the end: cutting it off leaves nothing readable.
    full = make_video(tmp_path / "full.mp4", n=30)
    data = full.read_bytes()
    for frac in (0.9, 0.5, 0.05):
        cut = tmp_path / f"cut{frac}.mp4"
        cut.write_bytes(data[: int(len(data) * frac)])
        with pytest.raises(CorruptMedia) as e:
            list(iter_frames(cut))
        assert_actionable(e.value, cut)


# ------------------------------------------------------------------------------- memory


@pytest.fixture(scope="module")
def long_videos(tmp_path_factory):
    """100- and 600-frame 320x240 clips, rotated so each upright frame is a fresh numpy
    allocation that tracemalloc can see (a source that kept frames would show up)."""
    folder = tmp_path_factory.mktemp("long")
    return {
        n: make_video(folder / f"long{n}.mp4", n=n, w=320, h=240, rotation=-90)
        for n in (100, 600)
    }


def _traced_peak(consume) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        consume()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_video_length(long_videos):
    frame_bytes = 320 * 240 * 3

    def decode(path):
        n = sum(1 for _ in iter_frames(path, threads=1))
        assert n == int(path.stem.removeprefix("long"))

    peak_100 = _traced_peak(lambda: decode(long_videos[100]))
    peak_600 = _traced_peak(lambda: decode(long_videos[600]))
    # Sensitivity check: keeping 100 frames is plainly visible to this measurement.
    peak_kept = _traced_peak(lambda: list(iter_frames(long_videos[100], threads=1)))
    assert peak_kept > 50 * frame_bytes
    assert peak_600 < 6 * frame_bytes, (peak_100, peak_600)
    assert peak_600 < peak_100 + 2 * frame_bytes, (peak_100, peak_600)


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux /proc for RSS")
def test_resident_memory_stays_flat_over_a_long_video(long_videos):
    page = os.sysconf("SC_PAGE_SIZE")

    def rss() -> int:
        return int(Path("/proc/self/statm").read_text().split()[1]) * page

    samples = {}
    for f in iter_frames(long_videos[600], threads=1):
        if f.index in (100, 599):
            samples[f.index] = rss()
    # 500 more frames of 230 kB each would be 115 MB; allow allocator noise only.
    assert samples[599] - samples[100] < 16 * 2**20, samples


def test_source_keeps_no_reference_to_yielded_frames(tmp_path):
    plain = make_video(tmp_path / "plain.mp4", n=8)
    rotated = make_video(tmp_path / "rot.mp4", n=8, rotation=90)
    for path in (plain, rotated):
        previous = None
        for f in iter_frames(path):
            if previous is not None:
                assert previous() is None, "an earlier frame is still referenced"
            previous = weakref.ref(f.image)
