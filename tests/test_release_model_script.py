"""scripts/release_model.py: the file a model ships as, from one checkpoint or several."""

from __future__ import annotations

import pytest
import torch


def test_several_checkpoints_are_released_as_their_mean_in_half_precision(
    small_graph_checkpoint, scaled_checkpoint, tmp_path, capsys, load_script
):
    doubled = scaled_checkpoint(2.0)
    out = tmp_path / "release.ckpt"
    assert (
        load_script("release_model").main(
            [str(small_graph_checkpoint), str(doubled), "--out", str(out)]
        )
        == 0
    )
    assert "averaging the weights of 2 checkpoints" in capsys.readouterr().out
    first = torch.load(small_graph_checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    release = torch.load(out, map_location="cpu", weights_only=True)
    assert "optimizer_states" not in release and "loops" not in release
    released = release["state_dict"]
    name = next(n for n, t in first.items() if t.is_floating_point() and t.abs().sum() > 0)
    assert released[name].dtype == torch.float16
    assert torch.allclose(released[name].float(), 1.5 * first[name], atol=1e-2)


def test_a_file_that_is_no_checkpoint_is_one_line_error(tmp_path, capsys, load_script):
    (tmp_path / "notes.ckpt").write_text("not a checkpoint")
    assert (
        load_script("release_model").main(
            [str(tmp_path / "notes.ckpt"), "--out", str(tmp_path / "r.ckpt")]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "not an inchi_lightning checkpoint" in err
    assert len(err.splitlines()) == 1 and not (tmp_path / "r.ckpt").exists()


@pytest.mark.parametrize(
    ("option", "setting", "value", "refused", "error"),
    [
        ("--threshold", "threshold", 0.4, "4", "--threshold must lie between 0 and 1, not 4.0"),
        (
            "--atom-separation",
            "atom_separation",
            0.0,
            "1.5",
            "--atom-separation must lie in [0, 1), not 1.5",
        ),
    ],
)
def test_a_release_reads_at_the_settings_it_is_given(
    small_graph_checkpoint, tmp_path, capsys, load_script, option, setting, value, refused, error
):
    main = load_script("release_model").main
    out = tmp_path / "release.ckpt"
    assert main([str(small_graph_checkpoint), "--out", str(out), option, str(value)]) == 0
    checkpoint = torch.load(out, map_location="cpu", weights_only=True)
    assert checkpoint["hyper_parameters"][setting] == value
    assert main([str(small_graph_checkpoint), "--out", str(out), option, refused]) == 2
    assert capsys.readouterr().err.strip() == f"error: {error}"
