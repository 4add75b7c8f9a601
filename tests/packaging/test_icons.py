"""The application icon exists in every size and format, and matches its SVG source."""

from __future__ import annotations

import importlib.util
import struct
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import pytest

from tests.packaging.paths import ICONS, PACKAGING

PNG_SIZES = (16, 32, 48, 64, 128, 256, 512)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (always the first chunk)."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.parametrize("size", PNG_SIZES)
def test_png_icon_has_its_pixel_size(size: int) -> None:
    path = ICONS / f"hms-desktop-{size}.png"
    assert path.is_file(), f"missing {path.name}: run packaging/make_icons.py"
    assert png_size(path.read_bytes()) == (size, size)


def test_svg_icon_is_a_square_svg() -> None:
    root = ET.parse(ICONS / "hms-desktop.svg").getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    x, y, width, height = (float(v) for v in root.get("viewBox", "").split())
    assert (x, y) == (0, 0) and width == height > 0


def test_ico_holds_the_windows_sizes_as_pngs() -> None:
    data = (ICONS / "hms-desktop.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data, 0)
    assert (reserved, kind) == (0, 1), "ICO header"
    sizes = []
    for i in range(count):
        width, height, _, _, _, _, length, offset = struct.unpack_from(
            "<BBBBHHII", data, 6 + 16 * i
        )
        image = data[offset : offset + length]
        declared = width or 256  # 0 means 256
        assert png_size(image) == (declared, height or 256)
        sizes.append(declared)
    assert sorted(sizes) == [16, 32, 48, 64, 128, 256]


def test_icns_holds_pngs_up_to_512() -> None:
    data = (ICONS / "hms-desktop.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    found: dict[bytes, tuple[int, int]] = {}
    pos = 8
    while pos < len(data):
        kind, length = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        found[kind] = png_size(data[pos + 8 : pos + length])
        pos += length
    assert pos == len(data)
    assert found[b"icp4"] == (16, 16)
    assert found[b"ic07"] == (128, 128)
    assert found[b"ic09"] == (512, 512)


def load_make_icons() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_icons", PACKAGING / "make_icons.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pixels(png: bytes) -> list[int]:
    from PySide6.QtGui import QImage

    image = QImage.fromData(png).convertToFormat(QImage.Format.Format_RGBA8888)
    return list(bytes(image.constBits()))  # type: ignore[call-overload]


@pytest.mark.parametrize("size", [16, 64])
def test_committed_pngs_are_rendered_from_the_current_svg(qapp: object, size: int) -> None:
    """Editing the SVG without re-running make_icons.py fails here."""
    from PySide6.QtSvg import QSvgRenderer

    make_icons = load_make_icons()
    fresh = pixels(make_icons.render_png(QSvgRenderer(str(make_icons.SVG)), size))
    committed = pixels(Path(ICONS / f"hms-desktop-{size}.png").read_bytes())
    assert len(fresh) == len(committed) == size * size * 4
    # Allow small anti-aliasing differences between Qt versions, not a changed drawing.
    mean_difference = sum(abs(a - b) for a, b in zip(fresh, committed, strict=True)) / len(fresh)
    assert mean_difference < 2.0, "run packaging/make_icons.py and commit the PNGs"
