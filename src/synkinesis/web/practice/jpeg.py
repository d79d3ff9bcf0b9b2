"""The size of a JPEG frame read from its header, before decoding (a decompression bomb is refused unread)."""

from __future__ import annotations

import struct


class BadFrame(Exception):
    """A frame that is not a usable JPEG (the session goes on without it)."""


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's SOF marker, read before decoding (refuses decompression bombs)."""
    if data[:2] != b"\xff\xd8":
        raise BadFrame("not a JPEG")
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            raise BadFrame("corrupt JPEG")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        i += 2 + length
    raise BadFrame("no image size in the JPEG")
