#!/usr/bin/env bash
# The graph recogniser's held-out yardstick, rebuilt from nothing on a new machine, and a
# checkpoint read on it. Every release is measured here: the 1,114 molecules
# graph-long held out (configs/graph-cpu.yaml's quickstart set: 30,000 drawings, seed 0, half
# patent style, val 3.75% by image id) drawn again with seeds 190 and 290, so that neither the
# molecules nor the drawings were ever trained on or looked at.
#
#   bash bench/heldout.sh build                  # ~15 minutes on 2 cores, resumable
#   bash bench/heldout.sh read CKPT NAME         # ~12 minutes: both draws and uspto-300
#   bash bench/heldout.sh read shipped shipped   # the model that ships with the package
#   bash bench/heldout.sh read CKPT NAME h190    # only these of h190, h290, uspto (default: all)
#
# RUNS (default ~/runs: outside the checkout, kept between runs) holds everything:
# graph-long/{raw,shards}, valfiles/ (the held-out files as a BMS-layout set), heldout190/,
# heldout290/, and read/NAME_{h190,h290,uspto}.csv with the per-sample readings `bench/analyse.py` takes (`style`, `label`, `confidence`, `misses`).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python}
RUNS=${RUNS:-$HOME/runs}
USPTO=${USPTO:-../shared/data/uspto-300}
HELDOUT_N=1114  # graph-long's val files after preprocess's rejects
SEEDS=(190 290)

build() {
    local long=$RUNS/graph-long
    $PYTHON -m inchi_lightning synth --out "$long/raw" --n 30000 --seed 0 --patent-fraction 0.5
    # The split is by image id; preprocess decides which files it rejects. 256 px, as the
    # release reads; graph-long at 192 and 256 keeps the same 1,114 val ids.
    $PYTHON -m inchi_lightning preprocess --input "$long/raw" --output "$long/shards" \
        --image-size 256 --keep-portrait --val-fraction 0.0375 --processes
    $PYTHON - "$long" "$RUNS/valfiles" "$HELDOUT_N" <<'EOF'
import shutil
import sys
from pathlib import Path

import pandas as pd

long, out, expected = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
ids = set()
for index in sorted((long / "shards" / "val").glob("shard-*/index.parquet")):
    ids.update(pd.read_parquet(index, columns=["image_id"])["image_id"])
labels = pd.read_csv(long / "raw" / "train_labels.csv")
held = labels[labels["image_id"].isin(ids)]
if len(held) != expected:
    sys.exit(f"graph-long holds out {len(held)} files, not {expected}: another renderer?")
for image_id in held["image_id"]:
    relative = Path("train", *image_id[:3], f"{image_id}.png")
    (out / relative).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(long / "raw" / relative, out / relative)
held.to_csv(out / "train_labels.csv", index=False)
print(f"{len(held)} held-out files in {out}")
EOF
    for seed in "${SEEDS[@]}"; do
        $PYTHON -m inchi_lightning synth --out "$RUNS/heldout$seed" --n "$HELDOUT_N" \
            --seed "$seed" --smiles "$RUNS/valfiles/train_labels.csv" --patent-fraction 0.5
    done
}

read_checkpoint() {
    local ckpt=$1 name=$2 out=$RUNS/read set seed
    shift 2
    local which=(--ckpt_path "$ckpt") sets=("${@:-h190 h290 uspto}")
    [ "$ckpt" = shipped ] && which=()
    mkdir -p "$out"
    for set in ${sets[@]}; do
        if [ "$set" = uspto ]; then
            $PYTHON -m inchi_lightning evaluate "${which[@]}" --images "$USPTO" \
                --out "$out/${name}_uspto.csv"
            continue
        fi
        seed=${set#h}
        $PYTHON -m inchi_lightning evaluate "${which[@]}" --images "$RUNS/heldout$seed" \
            --out "$out/${name}_h$seed.csv"
        $PYTHON bench/analyse.py style "$out/${name}_h$seed.csv" --seed "$seed" \
            --n "$HELDOUT_N" --patent-fraction 0.5
    done
}

case "${1:-}" in
    build) build ;;
    read) read_checkpoint "${2:?read needs CKPT (or shipped)}" "${3:?read needs a NAME}" "${@:4}" ;;
    *) sed -n '2,15p' "$0"; exit 2 ;;
esac
