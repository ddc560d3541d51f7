import cv2
import numpy as np
import pytest

from inchi_lightning.imaging import CleanParams, ImageError, clean, despeckle, read_gray

PARAMS = CleanParams(image_size=128)


def drawing(height: int = 200, width: int = 400) -> np.ndarray:
    """A white page with a thin bond line and a small atom label."""
    image = np.full((height, width), 255, dtype=np.uint8)
    cv2.line(image, (40, height // 2), (width - 120, height // 2 + 20), 0, 1)
    cv2.putText(image, "N", (width - 100, height // 2 + 30), cv2.FONT_HERSHEY_PLAIN, 1.0, 0, 1)
    return image


def with_specks(image: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    specked = image.copy()
    ys, xs = rng.integers(0, image.shape[0], count), rng.integers(0, image.shape[1], count)
    specked[ys, xs] = 0
    return specked


def test_despeckle_removes_single_pixels_and_keeps_bond_and_label():
    clean_page = drawing() < 128
    specked = with_specks(drawing(), 300) < 128
    kept = despeckle(specked, max_area=2, max_extent=2)
    lonely = specked & ~clean_page
    assert lonely.sum() > 250
    assert (kept & ~clean_page).sum() < 0.05 * lonely.sum()  # specks gone (a few touch ink)
    assert (kept & clean_page).sum() == clean_page.sum()  # every pixel of bond and label kept


def test_clean_output_is_square_white_and_cropped():
    out = clean(drawing(), PARAMS)
    assert out.shape == (128, 128) and out.dtype == np.uint8
    assert out[0].min() == 255 and out[-1].min() == 255  # padded with white
    cols = np.flatnonzero((out < 128).any(axis=0))
    assert cols[0] <= PARAMS.margin + 1 and cols[-1] >= 127 - PARAMS.margin - 1  # fills width


def test_clean_is_the_same_with_and_without_specks():
    plain, specked = clean(drawing(), PARAMS), clean(with_specks(drawing(), 200, seed=3), PARAMS)
    assert np.mean(np.abs(plain.astype(int) - specked.astype(int)) > 64) < 0.01


def test_portrait_is_turned_to_landscape():
    portrait = np.ascontiguousarray(drawing().T)
    out = clean(portrait, PARAMS)
    ink = out < 128
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    assert cols[-1] - cols[0] > rows[-1] - rows[0]


def test_an_empty_page_is_an_error():
    with pytest.raises(ImageError, match="empty image"):
        clean(with_specks(np.full((100, 100), 255, np.uint8), 50), PARAMS)


@pytest.mark.parametrize("shape", [(40, 2000), (2000, 40), (10000, 10000)])
def test_extreme_and_huge_images(shape):
    image = np.full(shape, 255, dtype=np.uint8)
    image[shape[0] // 2 - 3 : shape[0] // 2 + 3, 10:-10] = 0
    image[10:-10, shape[1] // 2 - 3 : shape[1] // 2 + 3] = 0
    assert clean(image, PARAMS).shape == (128, 128)


def test_read_gray_converts_every_depth_and_channel_layout(tmp_path):
    gray = drawing(60, 80)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    cv2.imwrite(str(tmp_path / "g16.png"), gray.astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / "rgb.png"), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))
    rgba = np.zeros((60, 80, 4), dtype=np.uint8)  # ink drawn opaque on transparent paper
    rgba[..., 3] = 255 - gray
    cv2.imwrite(str(tmp_path / "rgba.png"), rgba)
    cv2.imwrite(str(tmp_path / "g.jpg"), gray)
    for name in ["g.png", "g16.png", "rgb.png", "rgba.png"]:
        assert np.array_equal(read_gray(tmp_path / name), gray), name
    jpeg = read_gray(tmp_path / "g.jpg")
    assert jpeg.shape == gray.shape and np.abs(jpeg.astype(int) - gray).mean() < 8


def test_read_gray_explains_bad_files(tmp_path):
    cv2.imwrite(str(tmp_path / "good.png"), drawing())
    data = (tmp_path / "good.png").read_bytes()
    (tmp_path / "truncated.png").write_bytes(data[: len(data) // 3])
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("this is not an image")
    with pytest.raises(ImageError, match="missing file"):
        read_gray(tmp_path / "nowhere.png")
    with pytest.raises(ImageError, match="zero-byte"):
        read_gray(tmp_path / "empty.png")
    with pytest.raises(ImageError, match="unreadable"):
        read_gray(tmp_path / "text.png")
    with pytest.raises(ImageError, match="unreadable"):
        read_gray(tmp_path / "truncated.png")
