#!/usr/bin/env bash
# One GPU, measured and used: bf16 training images/s against the plain PyTorch figures
# (one H100: ~3,100 images/s for ResNet50 + plain LSTM, ~1,060 with the attention LSTM,
# 224 px), and the GPU recipe (configs/gpu-attention.yaml) trained and evaluated.
#
#   bench/gpu.sh prepare     # here, on the CPU machine: fills .gpu/ (wheels, X11 libraries
#                            # for RDKit's drawing, a copy of uspto-300) and .gpu/bench-shards,
#                            # and finetune_inputs (molecule lists; with HELDOUT_SHARDS=DIR,
#                            # the index files of DIR's val and test splits)
#   bench/gpu.sh ceiling     # on the GPU machine: the network alone (random batches on the GPU)
#   bench/gpu.sh throughput  # a few hundred Lightning steps against a plain loop, same loader
#   bench/gpu.sh recipe      # synth + preprocess there, fit the GPU recipe, evaluate it
#   bench/gpu.sh graph       # the same for the graph recogniser (configs/graph-gpu.yaml), and
#                            # its fp16 release in 15 MB parts (cat them together here)
#   bench/gpu.sh finetune    # the shipped graph recogniser trained further there at FT_SIZE px
#                            # on drawings made there (the molecule lists in .gpu/lists, held-out
#                            # molecules of .gpu/heldout refused), as long as the call allows
#
# With the project's device tool, from the repository root:
#   run(command="bash bench/gpu.sh recipe; bash bench/gpu.sh ceiling", carry=[".gpu"],
#       timeout_s=590)
# finetune, in one call (the machine's start takes ~1.5 of the session's 15 minutes; on the H200
# 60k drawings took 187 s to draw and clean, the fit 102 s besides its steps at ~470 images/s):
#   run(command="N=20000 FT_RATE=470 FT_DEADLINE=520 bash bench/gpu.sh finetune",
#       carry=[".gpu/site.tar.xz", ".gpu/lib", ".gpu/heldout", ".gpu/lists"], timeout_s=590)
# The packages travel as one xz archive of their installed files (.gpu/site.tar.xz, ~24 MB):
# the wheels themselves (~45 MB) and the shipped model (23 MB) exceed the tool's 64 MiB together.
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
    # Installed files, less what the package never imports (RDKit's Contrib and type stubs),
    # compress to about half the wheels' size.
    local site; site=$(mktemp -d)
    for wheel in "$CARRY"/whl/*.whl; do unzip -q -o "$wheel" -d "$site"; done
    rm -rf "$site/rdkit-stubs" "$site/rdkit/Contrib"
    tar cJf "$CARRY/site.tar.xz" -C "$site" . && rm -rf "$site" "$CARRY/whl"
    for lib in $X11_LIBS; do cp -L "/lib/x86_64-linux-gnu/$lib" "$CARRY/lib/"; done
    cp -r ../shared/data/uspto-300 "$CARRY/"
    # 300 drawings for `throughput` (~15 MB at 224 px): enough to time steps, not to learn.
    python3 bench/train_throughput.py --shards "$CARRY/bench-shards" --image-size "$SIZE" \
        --n 300 --prepare-only
    finetune_inputs
    du -sh "$CARRY"/*
}

finetune_inputs() {
    # finetune's molecule lists (FT_SEED: new molecules for a new fit) and, from the shard
    # directory HELDOUT_SHARDS (the yardstick's: $RUNS/graph-long/shards), the index files of
    # its val and test splits, whose molecules the drawings there must not show.
    local seed=${FT_SEED:-241} lists="$CARRY/lists"
    mkdir -p "$lists"
    python3 scripts/stereo_isomers.py --out "$lists/stereo.smi" --n 16000 --seed "$seed"
    python3 scripts/graft_groups.py --out "$lists/graft.smi" --n 12000 --seed "$((seed + 1))"
    python3 scripts/graft_groups.py --out "$lists/protecting.smi" --n 4000 \
        --seed "$((seed + 2))" --groups PMB,Trt,TBS,OTBS,Ts
    python3 scripts/graft_groups.py --out "$lists/halo.smi" --n 6000 --seed "$((seed + 3))" \
        --groups I,I,I,Br
    python3 scripts/metal_salts.py --out "$lists/salts.smi" --n 6000 --seed "$((seed + 4))"
    printf '%s\n' "stereo.smi 0.8" "graft.smi 0.85" "protecting.smi 0.85" "halo.smi 0.5" \
        "salts.smi 0.5" > "$lists/lists.txt"
    if [ -n "${HELDOUT_SHARDS:-}" ]; then
        local index target
        for index in "$HELDOUT_SHARDS"/{val,test}/shard-*/index.parquet; do
            [ -f "$index" ] || continue
            target="$CARRY/heldout/${index#"$HELDOUT_SHARDS"/}"
            mkdir -p "$(dirname "$target")" && cp "$index" "$target"
        done
    fi
}

install() {
    if [ -f "$CARRY/site.tar.xz" ]; then
        mkdir -p /tmp/site && tar xJf "$CARRY/site.tar.xz" -C /tmp/site
    elif [ -d "$CARRY/whl" ]; then
        python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target /tmp/site "$CARRY"/whl/*.whl
    else
        echo "no $CARRY/site.tar.xz or $CARRY/whl: using this machine's packages"
        return
    fi
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

finetune() {
    # The shipped model trained further at FT_SIZE px on drawings made here: N of synth's own
    # molecules and every list of $CARRY/lists/lists.txt ("FILE PATENT_FRACTION" lines), with
    # the molecules of $CARRY/heldout's val split refused (the yardstick read at home). A short
    # fit first measures this machine's images/s, so that the cosine schedule ends with the
    # call: FT_DEADLINE seconds after the start, less what the release takes. FT_LIST_MAX
    # draws at most that many of each list (a smoke test of the whole path).
    header
    install
    python3 -c "import scipy" || { echo "finetune: no scipy on this machine" >&2; exit 1; }
    SECONDS=0
    local data=${FT_DATA:-data/finetune-gpu} log="$OUT_DIR/finetune.log" size=${FT_SIZE:-320}
    local batch=${FT_BATCH:-128} lr=${FT_LR:-0.0002} deadline=${FT_DEADLINE:-540}
    local p="python3 -m inchi_lightning" sets=() name fraction count limit
    $p synth --out "$data/default/raw" --n "$N" --seed "${FT_SEED:-241}" --patent-fraction 0.5 \
        --no-progress 2>&1 | tail -1 | tee "$log"
    while read -r name fraction; do
        count=$(wc -l < "$CARRY/lists/$name") limit=${FT_LIST_MAX:-$count}
        $p synth --out "$data/${name%.smi}/raw" --n "$((count < limit ? count : limit))" \
            --seed "${FT_SEED:-241}" --smiles "$CARRY/lists/$name" --patent-fraction "$fraction" \
            --no-progress 2>&1 | tail -1 | tee -a "$log"
    done < "$CARRY/lists/lists.txt"
    echo "synth: ${SECONDS}s" | tee -a "$log"
    # One vocabulary for all sets (a union needs one), from every drawn molecule: the lists'
    # metals and stereo layers would otherwise be refused as tokens the first set lacks.
    python3 -c "import csv, glob, sys; from inchi_lightning.tokenizer import InChITokenizer as T
T.build(r['InChI'] for f in glob.glob(sys.argv[1] + '/*/raw/train_labels.csv')
        for r in csv.DictReader(open(f))).save(sys.argv[1] + '/vocab.json')" "$data"
    local clean=(--image-size "$size" --keep-portrait --held-out "$CARRY/heldout" --processes
        --vocab "$data/vocab.json")
    $p preprocess --input "$data/default/raw" --output "$data/default/shards" "${clean[@]}" \
        --val-fraction 0.01 2>&1 | tail -1 | tee -a "$log"
    for name in $(cut -d' ' -f1 "$CARRY/lists/lists.txt"); do
        name=${name%.smi}
        $p preprocess --input "$data/$name/raw" --output "$data/$name/shards" "${clean[@]}" \
            --val-fraction 0 2>&1 | tail -1 | tee -a "$log"
        sets+=("$data/$name/shards")
    done
    python3 scripts/union_shards.py "$data/union" "$data/default/shards" "${sets[@]}" | tee -a "$log"
    echo "synth + preprocess: ${SECONDS}s" | tee -a "$log"
    local fit=(fit --config configs/graph-gpu.yaml --config configs/graph-finetune.yaml
        --data.shards "$data/union" --data.quickstart null --data.batch_size "$batch"
        --data.num_workers "$(($(nproc) - 2))" --model.init_args.lr "$lr"
        --trainer.enable_progress_bar false --trainer.log_every_n_steps 10 $FIT_ARGS)
    local rate steps left
    if [ -z "${FT_RATE:-}" ]; then
        $p "${fit[@]}" --trainer.max_steps 150 --trainer.limit_val_batches 0 \
            --trainer.logger.init_args.save_dir logs-calibrate --checkpoint.dirpath ckpt-calibrate \
            2>&1 | tail -3 | tee -a "$log"
        rate=$(python3 bench/fit_summary.py logs-calibrate/graph-finetune --skip 5 \
            | grep -o 'images_per_s median [0-9.]*' | grep -o '[0-9.]*$')
    fi
    rate=${FT_RATE:-$rate}
    # What the fit spends besides its steps: on the H200, 102 s (Lightning's start, the one
    # validation's decoding on the host), and the release after it.
    left=$((deadline - SECONDS - ${FT_RESERVE:-150}))
    steps=$(python3 -c "print(max(100, int($rate * $left / $batch)))")
    echo "calibrated: $rate images/s, $steps steps of $batch in ~${left}s (${SECONDS}s)" \
        | tee -a "$log"
    $p "${fit[@]}" --trainer.max_steps "$steps" --trainer.val_check_interval "$steps" \
        --trainer.max_time "$(printf 00:00:%02d:00 $(((left + 100) / 60)))" --model.init_args.warmup_steps \
        "$((steps / 20))" --trainer.logger.init_args.save_dir logs --checkpoint.dirpath ckpt \
        2>&1 | tail -8 | tee -a "$log"
    echo "fit done: ${SECONDS}s" | tee -a "$log"
    # The release first: on the H200 a call ran out during what followed it and lost the model.
    local best; best=$(ls ckpt/best*.ckpt ckpt/last*.ckpt 2>/dev/null | head -1)
    python3 scripts/release_model.py "$best" --threshold 0.3 --out finetune-release.ckpt \
        | tee -a "$log"
    split -b 15M -d finetune-release.ckpt "$OUT_DIR/finetune-release.ckpt.part-"
    python3 bench/fit_summary.py logs/graph-finetune --batch-size "$batch" \
        | tee "$OUT_DIR/finetune_summary.md"
    tar czf "$OUT_DIR/finetune-logs.tar.gz" logs logs-calibrate
    echo "finetune done: ${SECONDS}s" | tee -a "$log"
}

case "${1:-}" in
    prepare | finetune_inputs | ceiling | throughput | recipe | graph | finetune) "$1" ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
esac
