"""reading/reader.py: the API, ``Reader().read(images)``, with the shipped model: every kind of
input reads the same, a bad image never raises, and reading imports neither Lightning nor Ray."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image
from rdkit import Chem

from inchi_lightning import Reader, Reading
from inchi_lightning.imaging import read_gray


@pytest.fixture(scope="module")
def reader() -> Reader:
    with Reader(batch_size=4, num_threads=2) as shipped:
        yield shipped


@pytest.fixture(scope="module")
def drawings(tiny_raw) -> list:
    return sorted((tiny_raw / "train").rglob("*.png"))[:3]


def test_paths_arrays_and_pillow_images_of_one_drawing_read_the_same(reader, drawings):
    path = drawings[0]
    gray = read_gray(path)
    rgb = np.stack([gray] * 3, axis=2)
    sources = [path, str(path), gray, rgb, Image.open(path), Image.fromarray(rgb)]
    readings = reader.read(sources)
    assert len(readings) == len(sources) and all(isinstance(r, Reading) for r in readings)
    assert len({r.inchi for r in readings}) == 1 and not readings[0].error
    assert reader.read(path)[0].inchi == readings[0].inchi  # one image, not a list


def test_a_reading_says_its_molecule_in_every_form(reader, drawings):
    readings = reader.read(drawings)
    read = [r for r in readings if r.inchi]
    assert read, "the shipped model reads some of the tiny drawings"
    for reading, path in zip(readings, drawings, strict=True):
        if not reading.inchi:
            continue
        assert 0.0 < reading.confidence <= 1.0 and reading.candidates == (reading.inchi,)
        assert Chem.MolToInchi(Chem.MolFromSmiles(reading.smiles)) == reading.inchi
        mol = Chem.MolFromMolBlock(reading.molfile)
        assert Chem.MolToInchi(mol) == reading.inchi
        height, width = read_gray(path).shape
        xy = mol.GetConformer().GetPositions()[:, :2]  # the input's pixels, y negated
        assert (xy[:, 0] > -width * 0.1).all() and (xy[:, 0] < width * 1.1).all()
        assert (-xy[:, 1] > -height * 0.1).all() and (-xy[:, 1] < height * 1.1).all()


def test_bad_images_get_their_reason_and_never_stop_the_batch(reader, drawings, tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "text.png").write_text("not a picture")
    Image.new("L", (1, 1), 0).save(tmp_path / "dot.png")
    Image.new("L", (20000, 30), 255).save(tmp_path / "strip.png")
    sources = [
        tmp_path / "empty.png",
        tmp_path / "text.png",
        tmp_path / "dot.png",
        tmp_path / "strip.png",
        tmp_path / "missing.png",
        np.full((4, 4), np.nan),
        np.zeros((3, 3, 7)),
        object(),
        drawings[0],
    ]
    readings = reader.read(sources)
    errors = [r.error for r in readings]
    assert errors[:8] == [
        "zero-byte file",
        "unreadable image",
        "empty image",
        "empty image",
        "missing file",
        "image array has NaN or infinite values",
        "an image array is (H, W), (H, W, 3) or (H, W, 4), not (3, 3, 7)",
        "not an image: object",
    ]
    assert all(r.inchi == "" and r.confidence == 0.0 for r in readings[:8])
    assert readings[8].inchi == reader.read(drawings[0])[0].inchi and not readings[8].error


def test_every_vote_setting_reads_and_bad_settings_are_refused(drawings):
    for vote in ("never", "always"):
        readings = Reader(vote=vote, num_threads=1).read(drawings)
        assert len(readings) == len(drawings) and not any(r.error for r in readings)
    with pytest.raises(ValueError, match="auto, always or never"):
        Reader(vote="sometimes")
    with pytest.raises(ValueError, match="auto, fp32 or bf16"):
        Reader(precision="fp16")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Reader("nowhere.ckpt")


def test_importing_and_reading_needs_neither_lightning_nor_ray(drawings):
    code = textwrap.dedent(f"""
        import sys
        import inchi_lightning
        assert "torch" not in sys.modules, "the package import stays light"
        from inchi_lightning import Reader
        (reading,) = Reader(num_threads=1).read([{str(drawings[0])!r}])
        print(sorted({{"lightning", "pytorch_lightning", "ray"}} & set(sys.modules)))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
