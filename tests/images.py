"""Smallest valid headers of the raster formats mirror mode accepts, padded to a given size."""

from __future__ import annotations

import struct
import zlib


def _pad(head: bytes, size: int) -> bytes:
    return head + b"\x00" * max(0, size - len(head))


def png(width: int = 2, height: int = 3, size: int = 0) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + header
    ihdr = struct.pack(">I", len(header)) + chunk + struct.pack(">I", zlib.crc32(chunk))
    return _pad(b"\x89PNG\r\n\x1a\n" + ihdr, size)


def jpeg(width: int = 2, height: int = 3, size: int = 0) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3) + b"\x01\x11\x00" * 3
    return _pad(b"\xff\xd8" + app0 + sof0, size)


def gif(width: int = 2, height: int = 3, size: int = 0) -> bytes:
    return _pad(b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00", size)


def webp(width: int = 2, height: int = 3, size: int = 0) -> bytes:
    frame = b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", width, height)
    chunk = b"VP8 " + struct.pack("<I", len(frame)) + frame
    return _pad(b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk, size)


def _box(kind: bytes, payload: bytes, full: bool = False) -> bytes:
    body = (b"\x00\x00\x00\x00" if full else b"") + payload
    return struct.pack(">I", 8 + len(body)) + kind + body


def avif(width: int = 2, height: int = 3, size: int = 0) -> bytes:
    ftyp = _box(b"ftyp", b"avif\x00\x00\x00\x00avifmif1")
    ispe = _box(b"ispe", struct.pack(">II", width, height), full=True)
    meta = _box(b"meta", _box(b"iprp", _box(b"ipco", ispe)), full=True)
    return _pad(ftyp + meta, size)


RASTERS = {"image/png": png, "image/jpeg": jpeg, "image/gif": gif, "image/webp": webp,
           "image/avif": avif}  # fmt: skip
