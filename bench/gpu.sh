#!/usr/bin/env bash
# One GPU, measured and used: bf16 training images/s against the plain PyTorch figures of
# issue 6 (one H100: ~3,100 images/s for ResNet50 + plain LSTM, ~1,060 with the attention LSTM,
# 224 px), and the GPU recipe of issue 7 (configs/gpu-attention.yaml) trained and evaluated.
#
#   bench/gpu.sh prepare     # here, on the CPU machine: fills .gpu/ (wheels, X11 libraries
#                            # for RDKit's drawing, a copy of uspto-300) and .gpu/bench-shards
#   bench/gpu.sh ceiling     # on the GPU machine: the network alone (random batches on the GPU)
#   bench/gpu.sh throughput  # a few hundred Lightning steps against a plain loop, same loader
#   bench/gpu.sh recipe      # synth + preprocess there, fit the GPU recipe, evaluate it
#   bench/gpu.sh graph       # the same for the graph recogniser (configs/graph-gpu.yaml), and
#                            # its fp16 release in 15 MB parts (cat them together here)
#
# With the project's device tool, from the repository root:
#   run(command="bash bench/gpu.sh recipe; bash bench/gpu.sh ceiling", carry=[".gpu"],
#       timeout_s=590)
# Results go to $OUT (or ./gpu-results). The GPU machine has torch, torchvision, lightning,
# torchmetrics, opencv-headless and tensorboard but no Ray: its shards are made with
# `preprocess --processes`, and the package runs from this checkout through PYTHONPATH.
set -euo pipefail

CARRY=${CARRY:-.gpu}
SIZE=${SIZE:-224}
BATCH=${BATCH:-128}            # ceiling and throughput; the recipe's batch is its config's
N=${N:-50000}                  # drawings the recipe synthesises on the GPU machine's cores
FIT_TIME=${FIT_TIME:-00:00:04:30}  # the device tool runs one command for 10 minutes at most
FIT_ARGS=${FIT_ARGS:-}          # more fit overrides (a dry run here: --trainer.accelerator cpu ...)
DATA=${DATA:-data/gpu-attention}
OUT_DIR=${OUT:-gpu-results}
# The package runs from this checkout (the GPU machine cannot pip-install it from an index).
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
# What `import inchi_lightning` needs beyond the GPU machine's own packages (pinned to the
# versions this checkout is tested with).
WHEELS="jsonargparse[signatures]==4.53.0 docstring-parser typeshed-client albumentations==2.0.8
albucore==0.0.24 stringzilla==5.3.2 simsimd==6.5.16 rapidfuzz==3.14.6 rdkit==2026.9.1
pydantic==2.13.4 pydantic-core==2.46.4 annotated-types typing-inspection"
X11_LIBS="libX11.so.6 libXau.so.6 libXdmcp.so.6 libXext.so.6 libXrender.so.1 libbsd.so.0
libmd.so.0 libxcb.so.1"

prepare() {
    mkdir -p "$CARRY/whl" "$CARRY/lib"
    # shellcheck disable=SC2086
    python3 -m pip download -q -d "$CARRY/whl" --only-binary=:all: --no-deps \
        --python-version 3.12 --implementation cp --platform manylinux_2_28_x86_64 \
        --platform manylinux_2_27_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux_2_17_x86_64 $WHEELS
    for lib in $X11_LIBS; do cp -L "/lib/x86_64-linux-gnu/$lib" "$CARRY/lib/"; done
    cp -r ../shared/data/uspto-300 "$CARRY/"
    # 300 drawings for `throughput` (~15 MB at 224 px): enough to time steps, not to learn.
    python3 bench/train_throughput.py --shards "$CARRY/bench-shards" --image-size "$SIZE" \
        --n 300 --prepare-only
    du -sh "$CARRY"/*
}

install() {
    if [ ! -d "$CARRY/whl" ]; then
        echo "no $CARRY/whl: using this machine's packages"
        return
    fi
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$CARRY"/whl/*.whl
    export PYTHONPATH=/tmp/site:$PYTHONPATH LD_LIBRARY_PATH=$PWD/$CARRY/lib:${LD_LIBRARY_PATH:-}
    python3 -c "import inchi_lightning.cli, rdkit.Chem.Draw, albumentations, rapidfuzz"
}

header() {
    mkdir -p "$OUT_DIR"
    { nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
        || echo "no GPU"; } | tee "$OUT_DIR/gpu.txt"
    { date -u +%FT%TZ; nproc; python3 -c "import torch; print('torch', torch.__version__)"; } \
        | tee -a "$OUT_DIR/gpu.txt"
}

ceiling() {
    header
    python3 bench/model_speed.py train --device cuda --bf16 --encoders resnet50 \
        --sizes "$SIZE" --batch-size "$BATCH" --warmup 10 --steps 30 --rounds 2 \
        | tee "$OUT_DIR/model_speed.md"
}

throughput() {
    header
    install
    python3 bench/train_throughput.py --shards "$CARRY/bench-shards" --only ab --rounds 1 \
        --accelerator gpu --precision bf16-mixed --encoder resnet50 --attention \
        --image-size "$SIZE" --batch-size "$BATCH" --loader-workers 8 \
        --warmup-steps 20 --window-steps 50 --windows 4 | tee "$OUT_DIR/fit.md"
}

recipe() {
    header
    install
    SECONDS=0
    python3 -m inchi_lightning synth --out "$DATA/shards-raw" --n "$N" --seed 2 \
        --patent-fraction 0.3 --no-progress 2>&1 | tail -2 | tee "$OUT_DIR/recipe.log"
    echo "synth: ${SECONDS}s" | tee -a "$OUT_DIR/recipe.log"
    python3 -m inchi_lightning preprocess --input "$DATA/shards-raw" --output "$DATA/shards" \
        --image-size "$SIZE" --val-fraction 0.01 --processes 2>&1 | tail -3 \
        | tee -a "$OUT_DIR/recipe.log"
    echo "synth + preprocess: ${SECONDS}s" | tee -a "$OUT_DIR/recipe.log"
    python3 -m inchi_lightning fit --config configs/gpu-attention.yaml \
        --data.shards "$DATA/shards" --trainer.max_time "$FIT_TIME" \
        --trainer.enable_progress_bar false $FIT_ARGS \
        2>&1 | tail -15 | tee -a "$OUT_DIR/recipe.log"
    echo "fit done: ${SECONDS}s" | tee -a "$OUT_DIR/recipe.log"
    python3 bench/fit_summary.py logs/gpu-attention | tee "$OUT_DIR/fit_summary.md"
    local ckpt=checkpoints/gpu-attention/best.ckpt PER_SAMPLE=per-sample
    mkdir -p "$PER_SAMPLE"
    for images in "$DATA/shards/val" "$CARRY/uspto-300"; do
        for k in 1 4; do
            echo "== $images, beam width $k" | tee -a "$OUT_DIR/evaluate.md"
            python3 -m inchi_lightning evaluate --ckpt_path "$ckpt" --images "$images" \
                --beam-width "$k" --batch-size 128 --num-workers 8 \
                --out "$PER_SAMPLE/$(basename "$images")-k$k.csv" 2>&1 | tail -6 \
                | tee -a "$OUT_DIR/evaluate.md"
        done
    done
    # One archive: the device tool brings back at most 8 files.
    tar czf "$OUT_DIR/recipe-files.tar.gz" "$PER_SAMPLE" logs/gpu-attention
    echo "recipe done: ${SECONDS}s" | tee -a "$OUT_DIR/recipe.log"
}

graph() {
    header
    install
    # The atom matching of the graph metrics needs SciPy; its wheel (~35 MB) and RDKit's do
    # not fit the device tool's 64 MiB carry together, so the GPU machine must have it.
    python3 -c "import scipy" || { echo "graph: no scipy on this machine" >&2; exit 1; }
    SECONDS=0
    local data=${GRAPH_DATA:-data/graph-gpu} log="$OUT_DIR/graph.log"
    python3 -m inchi_lightning synth --out "$data/shards-raw" --n "$N" --seed 0 \
        --patent-fraction 0.5 --no-progress 2>&1 | tail -2 | tee "$log"
    python3 -m inchi_lightning preprocess --input "$data/shards-raw" --output "$data/shards" \
        --image-size 256 --val-fraction 0.01 --processes 2>&1 | tail -3 | tee -a "$log"
    echo "synth + preprocess: ${SECONDS}s" | tee -a "$log"
    python3 -m inchi_lightning fit --config configs/graph-gpu.yaml --data.shards "$data/shards" \
        --data.quickstart null --trainer.max_time "$FIT_TIME" \
        --trainer.enable_progress_bar false $FIT_ARGS 2>&1 | tail -15 | tee -a "$log"
    echo "fit done: ${SECONDS}s" | tee -a "$log"
    python3 bench/fit_summary.py logs/graph-gpu --batch-size 64 | tee "$OUT_DIR/graph_summary.md"
    local ckpt=checkpoints/graph-gpu/best.ckpt
    for images in "$data/shards/val" "$CARRY/uspto-300"; do
        python3 -m inchi_lightning evaluate --ckpt_path "$ckpt" --images "$images" \
            --batch-size 64 --num-workers 8 --out "per-sample-$(basename "$images").csv" \
            2>&1 | tail -6 | tee -a "$OUT_DIR/graph_evaluate.md"
    done
    python3 -c "import sys; from inchi_lightning.training.checkpoints import release_checkpoint; \
release_checkpoint(sys.argv[1], sys.argv[2])" "$ckpt" graph-release.ckpt
    split -b 15M -d graph-release.ckpt "$OUT_DIR/graph-release.ckpt.part-"
    echo "graph done: ${SECONDS}s" | tee -a "$log"
}

case "${1:-}" in
    prepare | ceiling | throughput | recipe | graph) "$1" ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
esac
