"""reading/inputs.py: the images a user names (files, folders, globs) and hands over (paths,
arrays, Pillow images), as gray uint8 or a one-line reason."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from inchi_lightning.imaging import ImageError
from inchi_lightning.reading.inputs import gray_image, image_files


def drawing(height: int = 40, width: int = 60) -> np.ndarray:
    gray = np.full((height, width), 255, np.uint8)
    gray[10:30, 20:24] = 0
    gray[18:22, 10:50] = 60
    return gray


def test_files_folders_and_globs_name_images_in_order_and_other_files_apart(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ["a/b/x.png", "a/y.PNG", "a/z.gif", "a/notes.txt", "w.jpg", "v.tif"]:
        (tmp_path / name).write_bytes(b"")
    images, others = image_files([tmp_path / "a", str(tmp_path / "*.jpg"), tmp_path / "v.tif"])
    assert [p.name for p in images] == ["x.png", "y.PNG", "z.gif", "w.jpg", "v.tif"]
    assert [p.name for p in others] == ["notes.txt"]
    images, _ = image_files([str(tmp_path / "**" / "*.png")])
    assert sorted(p.name for p in images) == ["x.png"]


def test_a_missing_folder_or_an_unmatched_glob_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder: .*nowhere"):
        image_files([tmp_path / "nowhere"])
    with pytest.raises(FileNotFoundError, match=r"no file matches .*\*\.png"):
        image_files([str(tmp_path / "*.png")])
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="no images in"):
        image_files([tmp_path])


def test_two_images_of_one_name_are_refused(tmp_path):
    for name in ["a/x.png", "b/x.png"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    with pytest.raises(ValueError, match=r"a/x.png and .*b/x.png would both be named 'x'"):
        image_files([tmp_path])


@pytest.mark.parametrize(
    "convert",
    [
        lambda g: g,
        lambda g: np.stack([g] * 3, axis=2),  # RGB
        lambda g: np.dstack([np.stack([g] * 3, axis=2), np.full_like(g, 255)]),  # RGBA
        lambda g: g[:, :, None],  # (H, W, 1)
        lambda g: g.astype(np.float32) / 255,  # floats in [0, 1]
        lambda g: g.astype(np.uint16) * 257,  # 16-bit
        lambda g: g.astype(np.int64),
        lambda g: g >= 128,  # bool: True is white, as in Pillow's mode "1"
        lambda g: Image.fromarray(g),
        lambda g: Image.fromarray(g).convert("RGB"),
        lambda g: Image.fromarray(g).convert("CMYK"),
        lambda g: Image.fromarray(g).convert("P"),
        lambda g: Image.fromarray(g.astype(np.uint16) * 257),  # Pillow's 16-bit gray
    ],
)
def test_arrays_and_pillow_images_of_any_kind_come_out_as_the_same_gray(convert):
    gray = drawing()
    converted = gray_image(convert(gray))
    assert converted.dtype == np.uint8 and converted.shape == gray.shape
    assert ((converted < 128) == (gray < 128)).all()


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (np.zeros((0, 5), np.uint8), "empty array"),
        (np.zeros((4, 4, 2), np.uint8), r"\(H, W\), \(H, W, 3\) or \(H, W, 4\), not \(4, 4, 2\)"),
        (np.zeros((2, 2, 2, 2), np.uint8), "not \\(2, 2, 2, 2\\)"),
        (np.array([["a", "b"], ["c", "d"]]), "holds numbers"),
        (np.full((4, 4), np.nan, np.float32), "NaN or infinite"),
        (np.full((4, 4), 7, np.uint8), "empty image"),
        (Image.new("L", (5, 5), 255), "empty image"),
        (12, "not an image: int"),
    ],
)
def test_what_is_not_an_image_is_refused_with_its_reason(source, reason):
    with pytest.raises(ImageError, match=reason):
        gray_image(source)


def test_files_pillow_reads_and_opencv_does_not_come_out_as_gray(tmp_path):
    gray = drawing()
    Image.fromarray(gray).save(tmp_path / "a.gif")
    Image.fromarray(gray).convert("CMYK").save(tmp_path / "b.jpg")
    Image.fromarray(gray.astype(np.uint16) * 257).save(tmp_path / "c.png")
    Image.fromarray(gray).save(tmp_path / "d.webp", lossless=True)
    Image.fromarray(gray).save(tmp_path / "e.bmp")
    Image.fromarray(gray).save(tmp_path / "f.tiff")
    for name in ["a.gif", "b.jpg", "c.png", "d.webp", "e.bmp", "f.tiff"]:
        read = gray_image(tmp_path / name)
        assert read.shape == gray.shape, name
        assert (np.abs(read.astype(int) - gray.astype(int)) < 40).all(), name


@settings(max_examples=300, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from(
            [
                np.uint8,
                np.uint16,
                np.int8,
                np.int32,
                np.int64,
                np.float16,
                np.float32,
                np.float64,
                np.bool_,
                np.complex64,
            ]
        ),  # fmt: skip
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
    )
)
def test_any_array_is_gray_uint8_or_a_one_line_image_error(array):
    try:
        gray = gray_image(array)
    except ImageError as error:
        assert str(error) and "\n" not in str(error)
        return
    assert gray.dtype == np.uint8 and gray.ndim == 2 and gray.shape == array.shape[:2]
