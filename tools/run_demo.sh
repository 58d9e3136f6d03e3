#!/usr/bin/env bash
# Set up everything (idempotent), then train and test the CAM baseline on the
# built-in synthetic dataset: prints localization metrics and saves CAM
# overlays under work_dirs/demo/. Usage: bash tools/run_demo.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENV_DIR=$(bash "$ROOT/tools/setup_env.sh" | tail -n 1)
PY="$ENV_DIR/bin/python"
cd "$ROOT"

WORK=${MMWSL_DEMO_DIR:-work_dirs/demo}
CONFIGS=${MMWSL_DEMO_CONFIGS:-configs/cam/cam_resnet18_synthetic.py}
for CONFIG in $CONFIGS; do
    NAME=$(basename "$CONFIG" .py)
    echo "== $NAME: training (the synthetic dataset is generated on first use)"
    "$PY" tools/train.py "$CONFIG" --work-dir "$WORK/$NAME"
    CKPT=$(cat "$WORK/$NAME/last_checkpoint")
    echo "== $NAME: testing $CKPT"
    "$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK/$NAME" \
        --show-dir "$(pwd)/$WORK/$NAME/overlays" 2>&1 | tee "$WORK/$NAME/test.log"
    echo "== $NAME: CAM overlays in $WORK/$NAME/overlays" \
        "($(ls "$WORK/$NAME/overlays" | wc -l) images)"
done
echo "== metrics"
for CONFIG in $CONFIGS; do
    NAME=$(basename "$CONFIG" .py)
    grep -h "Test metrics" "$WORK/$NAME/test.log" | sed "s/.*Test metrics:/$NAME:/"
done
