#!/usr/bin/env bash
# Usage: tools/dist_generate_pseudo_labels.sh CONFIG CHECKPOINT NUM_PROCS \
#            --out DIR [generate_pseudo_labels.py options]
# Splits the images across NUM_PROCS processes (NCCL with GPUs, gloo on
# CPU-only machines). Interrupted runs resume where they stopped.
CONFIG=$1
CHECKPOINT=$2
NPROCS=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29510}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}

PYTHONPATH="$(dirname "$0")/..":$PYTHONPATH \
python -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROCS" \
    --master_port="$PORT" \
    "$(dirname "$0")/generate_pseudo_labels.py" \
    "$CONFIG" \
    "$CHECKPOINT" \
    --launcher pytorch "${@:4}"
