"""The command line as a user runs it: a real process, real media, exit codes and messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd

from synkinesis.measures import FORMULA_VERSION
import pytest


def run(*args, timeout=120):
    env = {**os.environ, "COLUMNS": "200"}  # wide enough that Rich does not wrap table cells
    return subprocess.run([sys.executable, "-m", "synkinesis.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def _file(path, content: bytes):
    path.write_bytes(content)
    return path


def test_analyze_writes_table_json_and_plot(media, tmp_path):
    out = tmp_path / "out"
    r = run("analyze", media("single_face.mp4"), "--affected-side", "left", "--csv", out / "f.csv",
            "--parquet", out / "f.parquet", "--json", out / "r.json", "--plot", out / "p.png")
    assert r.returncode == 0, r.stderr
    assert "Ocular-oral synkinesis" in r.stdout and "smile" in r.stdout
    assert "Traceback" not in r.stderr and "W0000" not in r.stderr  # native chatter is kept off the terminal
    csv = pd.read_csv(out / "f.csv")
    assert len(csv) == 72 and {"pfh_mm_left", "pfh_mm_right", "blink", "episode"} <= set(csv.columns)
    parquet = pd.read_parquet(out / "f.parquet")
    assert np.allclose(parquet["pfh_mm_left"], csv["pfh_mm_left"], atol=1e-4)  # CSV keeps 4 decimals
    result = json.loads((out / "r.json").read_text())
    prov = result["provenance"]
    assert prov["engine_version"].startswith("mediapipe==0.10.21") and prov["formula_version"] == FORMULA_VERSION
    assert result["units"]["pfh_mm_left"] == "mm" and result["indices"]["affected_side"] == "left"
    assert (out / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The healthy face's finding in words, with the rest it came from and the noise it was judged by.
    assert "does not read as ocular-oral synkinesis" in r.stdout.replace("\n", " ")
    assert "Rest: frames" in r.stdout and "MDC95" in r.stdout
    assert result["headline"]["flagged"] is False and result["indices"]["version"] == "indices/2"
    assert result["rest"]["confidence"] in ("high", "medium")


def test_measure_photo(media):
    r = run("measure", media("single_face.jpg"), "--affected-side", "right")
    assert r.returncode == 0, r.stderr
    assert "Palpebral fissure height" in r.stdout and "Head pose" in r.stdout


@pytest.mark.parametrize("make, expected", [
    (lambda p: p / "missing.mp4", "does not exist"),
    (lambda p: _file(p / "empty.mp4", b""), "empty"),
    (lambda p: _file(p / "junk.mp4", b"\x00garbage" * 500), "junk.mp4"),
    (lambda p: _file(p / "notes.txt", b"hello"), "unsupported file type"),
])
def test_user_errors_give_one_clear_message(tmp_path, make, expected):
    r = run("analyze", make(tmp_path), "--affected-side", "left")
    assert r.returncode == 2
    assert expected in r.stderr.replace("\n", " ")
    assert "Traceback" not in r.stderr


def test_no_face_video_exits_with_message(media):
    r = run("analyze", media("no_face.mp4"), "--affected-side", "right")
    assert r.returncode == 2
    assert "No face was found" in r.stderr and "Traceback" not in r.stderr


def test_invalid_options_are_refused(media):
    r = run("analyze", media("single_face.mp4"), "--affected-side", "left", "--iris-mm", "40")
    assert r.returncode == 2 and "--iris-mm" in r.stderr
    r = run("analyze", media("single_face.mp4"), "--affected-side", "up")
    assert r.returncode == 2
    r = run("measure", media("single_face.mp4"))
    assert r.returncode == 2 and "synkinesis analyze" in r.stderr


def test_face_too_small_and_extreme_pose_are_refused(media, tmp_path):
    import cv2

    photo = cv2.imread(str(media("single_face.jpg")))
    canvas = np.full((480, 640, 3), 128, np.uint8)
    canvas[100:240, 200:340] = cv2.resize(photo, (140, 140), interpolation=cv2.INTER_AREA)  # iris ≈ 4 px
    cv2.imwrite(str(tmp_path / "far.png"), canvas)
    r = run("measure", tmp_path / "far.png")
    assert r.returncode == 2 and "too small to measure" in r.stderr and "closer" in r.stderr

    h, w = photo.shape[:2]
    tilted = cv2.warpAffine(photo, cv2.getRotationMatrix2D((w / 2, h / 2), 50, 0.8), (w, h),
                            borderValue=(128, 128, 128))  # head tilted 50°
    cv2.imwrite(str(tmp_path / "tilted.png"), tilted)
    r = run("measure", tmp_path / "tilted.png")
    assert r.returncode == 2 and "turned too far from frontal" in r.stderr and "roll +5" in r.stderr
