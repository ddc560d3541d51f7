#!/usr/bin/env bash
# Training images/s on one GPU with bf16, against the plain PyTorch figures of issue 6
# (one H100: ~3,100 images/s for ResNet50 + plain LSTM, ~1,060 with the attention LSTM, 224 px).
#
#   bench/gpu.sh prepare   # here, on the CPU machine: wheels + a small shard set to carry
#   bench/gpu.sh run       # on the GPU machine, from the repository root
#
# `run` measures two things:
#   1. the network's ceiling: bench/model_speed.py on random batches held on the GPU (needs
#      only torch and torchvision, which the GPU machine has), resnet50 x plain/attention;
#   2. a real fit: a few hundred Lightning steps of the attention model on the carried shards,
#      against a plain PyTorch loop over the same loader (bench/train_throughput.py --only ab).
#      This part needs the packages the GPU machine lacks, installed from the carried .whl/.
#
# With the project's device tool: run(command="bash bench/gpu.sh run",
# carry=[".whl", "data/gpu/shards"], timeout_s=540). Results go to $OUT (or ./gpu-results).
set -euo pipefail

SHARDS=${SHARDS:-data/gpu/shards}
SIZE=${SIZE:-224}
BATCH=${BATCH:-128}
OUT_DIR=${OUT:-gpu-results}
# What `import inchi_lightning` needs beyond torch, torchvision, lightning, torchmetrics,
# opencv-headless and tensorboard (the GPU machine's own packages).
WHEELS="jsonargparse[signatures] docstring-parser typeshed-client albumentations albucore
stringzilla simsimd rapidfuzz rdkit pydantic pydantic-core annotated-types typing-inspection"

prepare() {
    python3 -m pip download -q -d .whl --only-binary=:all: --no-deps --python-version 3.12 \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 \
        --platform manylinux_2_17_x86_64 $WHEELS
    # 300 drawings at SIZE px: ~15 MB of shards beside ~42 MB of wheels, under the
    # device tool's 64 MiB. The fit loops over them: enough for throughput, not for accuracy.
    python3 bench/train_throughput.py --shards "$SHARDS" --image-size "$SIZE" --n 300 \
        --prepare-only
    du -sh .whl "$SHARDS"
}

run() {
    mkdir -p "$OUT_DIR"
    nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | tee "$OUT_DIR/gpu.txt"
    date -u +%FT%TZ | tee -a "$OUT_DIR/gpu.txt"
    python3 bench/model_speed.py train --device cuda --bf16 --encoders resnet50 \
        --sizes "$SIZE" --batch-size "$BATCH" --warmup 10 --steps 30 --rounds 2 \
        | tee "$OUT_DIR/model_speed.md"
    if [ -d .whl ] && [ -d "$SHARDS" ]; then
        python3 -m pip install -q --no-index --find-links .whl $WHEELS
        python3 -m pip install -q --no-deps -e .
        python3 bench/train_throughput.py --shards "$SHARDS" --only ab --rounds 1 \
            --accelerator gpu --precision bf16-mixed --encoder resnet50 --attention \
            --image-size "$SIZE" --batch-size "$BATCH" --loader-workers 8 \
            --warmup-steps 20 --window-steps 50 --windows 4 | tee "$OUT_DIR/fit.md"
    else
        echo "no .whl/ or $SHARDS here: skipped the Lightning fit (run 'bench/gpu.sh prepare')"
    fi
}

case "${1:-}" in
    prepare) prepare ;;
    run) run ;;
    *) sed -n '2,16p' "$0"; exit 2 ;;
esac
