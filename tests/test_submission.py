"""SubmissionWriter: rows appended batch by batch, the CSV named only when predict completes."""

import csv
from types import SimpleNamespace

from inchi_lightning.training.submission import SubmissionWriter

TRAINER = SimpleNamespace(is_global_zero=True)


def rows(*ids: str) -> list[dict]:
    return [{"image_id": i, "InChI": f"InChI=1S/{i}" if i != "bad" else "", "confidence": 0.0}
            for i in ids]  # fmt: skip


def write_batches(writer: SubmissionWriter, *batches: list[dict]) -> None:
    writer.on_predict_start(TRAINER, None)
    for index, batch in enumerate(batches):
        writer.write_on_batch_end(TRAINER, None, batch, None, None, index, 0)


def test_rows_arrive_in_batch_order_and_the_file_is_named_at_the_end(tmp_path, capsys):
    output = tmp_path / "out" / "submission.csv"
    writer = SubmissionWriter(str(output))
    write_batches(writer, rows("a", "bad"), rows("c"))
    assert not output.exists()  # still the temporary file
    writer.on_predict_end(TRAINER, None)

    with output.open() as handle:
        written = list(csv.DictReader(handle))
    assert [(r["image_id"], r["InChI"]) for r in written] == [
        ("a", "InChI=1S/a"), ("bad", ""), ("c", "InChI=1S/c")
    ]  # fmt: skip
    assert "wrote 3 predictions" in capsys.readouterr().out
    assert sorted(p.name for p in output.parent.iterdir()) == ["submission.csv"]


def test_batches_are_not_kept_in_memory(tmp_path):
    writer = SubmissionWriter(str(tmp_path / "submission.csv"))
    write_batches(writer, rows("a"), rows("b"))
    assert writer._handle.tell() > 0  # on disk, flushed by the file's buffer, not a list
    assert not any(isinstance(v, list) for v in vars(writer).values())
    writer.on_predict_end(TRAINER, None)


def test_a_failed_run_leaves_no_submission_and_no_partial_file(tmp_path):
    output = tmp_path / "submission.csv"
    writer = SubmissionWriter(str(output))
    write_batches(writer, rows("a"))
    writer.on_exception(TRAINER, None, RuntimeError("killed"))
    assert list(tmp_path.iterdir()) == []


def test_only_the_global_zero_process_writes(tmp_path):
    trainer = SimpleNamespace(is_global_zero=False)
    writer = SubmissionWriter(str(tmp_path / "submission.csv"))
    writer.on_predict_start(trainer, None)
    writer.write_on_batch_end(trainer, None, rows("a"), None, None, 0, 0)
    writer.on_predict_end(trainer, None)
    assert list(tmp_path.iterdir()) == []
