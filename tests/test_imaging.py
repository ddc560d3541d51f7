"""clean() and read_gray(): specks go, bonds and labels stay, every odd file is explained."""

import dataclasses
import tracemalloc

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from inchi_lightning.imaging import (
    FULL_DECODE_PIXELS,
    MAX_PIXELS,
    CleanParams,
    ImageError,
    clean,
    clean_with_transform,
    despeckle,
    read_gray,
)

PARAMS = CleanParams(image_size=128)


def drawing(height: int = 200, width: int = 400) -> np.ndarray:
    """A white page with a one-pixel bond line and a small atom label."""
    image = np.full((height, width), 255, dtype=np.uint8)
    cv2.line(image, (40, height // 2), (width - 120, height // 2 + 20), 0, 1)
    cv2.putText(image, "N", (width - 100, height // 2 + 30), cv2.FONT_HERSHEY_PLAIN, 0.8, 0, 1)
    return image


def isolated_specks(image: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """``image`` with ``count`` single-pixel specks, none within 2 pixels of ink or each other
    (so none can join a stroke or another speck into something bigger)."""
    rng = np.random.default_rng(seed)
    specked = image.copy()
    placed = 0
    while placed < count:
        y, x = rng.integers(2, image.shape[0] - 2), rng.integers(2, image.shape[1] - 2)
        if specked[y - 2 : y + 3, x - 2 : x + 3].min() == 255:
            specked[y, x] = 0
            placed += 1
    return specked


def ink_box(image: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the pixels darker than mid-gray, inclusive."""
    rows = np.flatnonzero((image < 128).any(axis=1))
    cols = np.flatnonzero((image < 128).any(axis=0))
    return rows[0], rows[-1], cols[0], cols[-1]


def test_despeckle_removes_specks_and_keeps_every_pixel_of_bond_and_label():
    page = drawing() < 200
    specked = isolated_specks(drawing(), 300) < 200
    kept = despeckle(specked, PARAMS.max_speck_area, PARAMS.max_speck_extent)
    assert np.array_equal(kept, page)


def test_clean_ignores_specks_even_outside_the_drawing():
    page = drawing()
    page[5, 5] = page[190, 395] = 0  # corners: a speck left in would change the crop
    specked = isolated_specks(page, 200, seed=3)
    assert np.array_equal(clean(specked, PARAMS), clean(drawing(), PARAMS))


def test_clean_crops_to_the_ink_and_centres_it_on_a_white_square():
    small, large = drawing(), np.full((700, 900), 255, np.uint8)
    large[450:650, 20:420] = small  # the same drawing, far off-centre on a bigger page
    out = clean(large, PARAMS)
    assert out.shape == (128, 128) and out.dtype == np.uint8
    assert np.array_equal(out, clean(small, PARAMS))
    top, bottom, left, right = ink_box(out)
    assert left <= PARAMS.margin + 1 and right >= 127 - PARAMS.margin - 1  # fills the width
    assert abs((top + bottom) - 127) <= 2  # centred vertically
    assert out[: top - 1].min() == 255 and out[bottom + 2 :].min() == 255  # white padding


def test_portrait_is_turned_to_landscape_unless_asked_to_stay_upright():
    portrait = np.ascontiguousarray(drawing().T)
    top, bottom, left, right = ink_box(clean(portrait, PARAMS))
    assert right - left > 2 * (bottom - top)
    upright = clean(portrait, dataclasses.replace(PARAMS, turn_portrait=False))
    top, bottom, left, right = ink_box(upright)
    assert bottom - top > 2 * (right - left)


@pytest.mark.parametrize("shape", [(40, 2000), (2000, 40), (10000, 10000)])
def test_extreme_aspect_ratios_and_huge_images(shape):
    image = np.full(shape, 255, dtype=np.uint8)
    image[shape[0] // 2 - 3 : shape[0] // 2 + 3, 10:-10] = 0
    image[10:-10, shape[1] // 2 - 3 : shape[1] // 2 + 3] = 0
    out = clean(image, PARAMS)
    assert out.shape == (128, 128) and (out < 128).any()


def page_of_blocks(shape: tuple[int, int], centres: list[tuple[int, int]]) -> np.ndarray:
    """White paper with a 9 x 9 block of ink centred on each (x, y) of ``centres``."""
    page = np.full(shape, 255, dtype=np.uint8)
    for x, y in centres:
        page[y - 4 : y + 5, x - 4 : x + 5] = 0
    return page


def darkness_centre(image: np.ndarray, point: np.ndarray, radius: int) -> np.ndarray:
    """(x, y): the darkness-weighted centre of ``image`` within ``radius`` of ``point``."""
    x, y = np.round(point).astype(int)
    padded = np.pad(image, radius, constant_values=255)  # windows may cross the edge
    window = 255.0 - padded[y : y + 2 * radius + 1, x : x + 2 * radius + 1]
    rows, cols = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return np.array([(window * cols).sum(), (window * rows).sum()]) / window.sum() + (x, y)


@pytest.mark.parametrize(
    ("shape", "params"),
    [
        ((300, 500), CleanParams(image_size=128, sharpen=0.0)),  # crop and shrink
        ((500, 300), CleanParams(image_size=128, sharpen=0.0)),  # portrait: turned
        ((500, 300), CleanParams(image_size=128, sharpen=0.0, turn_portrait=False)),  # upright
        ((900, 700), CleanParams(image_size=128, sharpen=0.0, max_input_side=400)),  # shrunk
        ((120, 90), CleanParams(image_size=256, sharpen=1.0)),  # enlarged, sharpened
    ],
)
def test_clean_with_transform_maps_points_to_where_clean_put_them(shape, params):
    height, width = shape
    centres = [(20, 30), (width - 15, 40), (width // 2, height - 25), (width // 3, height // 2)]
    page = page_of_blocks(shape, centres)
    image, matrix = clean_with_transform(page, params)
    assert np.array_equal(image, clean(page, params)) and matrix.shape == (2, 3)
    scale = np.sqrt(abs(np.linalg.det(matrix[:, :2])))
    radius = max(3, round(6 * scale))
    for centre in centres:
        mapped = matrix @ (*centre, 1.0)
        assert np.allclose(darkness_centre(image, mapped, radius), mapped, atol=0.2), centre


def test_nothing_but_specks_is_an_empty_image():
    with pytest.raises(ImageError, match="empty image"):
        clean(isolated_specks(np.full((100, 100), 255, np.uint8), 50), PARAMS)


def test_clean_params_survive_a_json_round_trip():
    params = CleanParams(image_size=64, sharpen=0.5)
    assert CleanParams(**dataclasses.asdict(params)) == params
    with pytest.raises(ValueError, match="margin"):
        CleanParams(image_size=8)


def test_read_gray_converts_every_depth_and_channel_layout(tmp_path):
    gray = drawing(60, 80)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    cv2.imwrite(str(tmp_path / "g16.png"), gray.astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "rgb.png"), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    rgba = np.zeros((60, 80, 4), dtype=np.uint8)  # black ink, opaque, on transparent paper
    rgba[..., 3] = 255 - gray
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    cv2.imwrite(str(tmp_path / "g.jpg"), gray)
    for name in ["g.png", "g16.png", "rgb.png", "rgba.png"]:
        image = read_gray(tmp_path / name)
        assert image.dtype == np.uint8 and np.array_equal(image, gray), name
    jpeg = read_gray(tmp_path / "g.jpg")
    assert jpeg.shape == gray.shape and np.abs(jpeg.astype(int) - gray).mean() < 8


def test_read_gray_explains_bad_files(tmp_path):
    cv2.imwrite(str(tmp_path / "good.png"), drawing())
    data = (tmp_path / "good.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 3])
    (tmp_path / "zero.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("this is not an image")
    cv2.imwrite(str(tmp_path / "white.png"), np.full((50, 50), 255, np.uint8))
    expected = {
        "nowhere.png": "missing file",
        "zero.png": "zero-byte file",
        "text.png": "unreadable image",
        "truncated.png": "unreadable image",
        "white.png": "empty image",
    }
    for name, reason in expected.items():
        with pytest.raises(ImageError) as caught:
            read_gray(tmp_path / name)
        assert caught.value.reason == reason
        assert str(caught.value) == f"{reason}: {tmp_path / name}"  # one line, with the path


def cross_page(path, side: int, mode: str = "1", **save) -> None:
    """A white ``side`` x ``side`` page with a thick cross, written with Pillow: a 1-bit or
    palette PNG of a huge page costs megabytes in memory and kilobytes on disk."""
    page = Image.new(mode, (side, side), 1 if mode == "1" else 255)
    if mode == "P":
        page.putpalette([0, 0, 0] * 255 + [255, 255, 255])
    draw = ImageDraw.Draw(page)
    middle = side // 2
    draw.line((100, middle, side - 100, middle), fill=0, width=8)
    draw.line((middle, 100, middle, side - 100), fill=0, width=8)
    page.save(path, **save)


def test_a_huge_page_is_read_and_cleaned(tmp_path):
    cross_page(tmp_path / "huge.png", 10000)
    gray = read_gray(tmp_path / "huge.png")
    assert gray.shape == (10000, 10000) and gray.dtype == np.uint8
    out = clean(gray, PARAMS)
    assert out.shape == (128, 128) and (out < 128).sum() > 100


def test_a_page_over_the_full_decode_limit_costs_about_a_byte_a_pixel(tmp_path):
    side = int(FULL_DECODE_PIXELS**0.5) + 8  # just over the limit
    colour = np.full((side, side, 3), 65535, np.uint16)  # 16-bit RGB: 6 bytes a pixel decoded
    colour[side // 2 - 4 : side // 2 + 4, 50:-50] = 0
    cv2.imwrite(str(tmp_path / "big16.png"), colour)
    del colour
    tracemalloc.start()  # numpy's allocations, OpenCV's output arrays included, are traced
    try:
        gray = read_gray(tmp_path / "big16.png")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert gray.shape == (side, side) and gray[side // 2, side // 2] == 0
    assert gray[0, 0] == 255
    assert peak < 2 * side * side


def test_pages_too_large_to_decode_are_refused_from_their_header(tmp_path):
    side = int(MAX_PIXELS**0.5) + 8
    cross_page(tmp_path / "bomb.png", side)
    transparent = int(FULL_DECODE_PIXELS**0.5) + 8  # gray decoding would lose the alpha
    cross_page(tmp_path / "clear.png", transparent, mode="P", transparency=255)
    expected = {
        "bomb.png": f"image too large: {side} x {side} px",
        "clear.png": f"transparent image too large: {transparent} x {transparent} px",
    }
    for name, reason in expected.items():
        with pytest.raises(ImageError) as caught:
            read_gray(tmp_path / name)
        assert caught.value.reason == reason
