#!/usr/bin/env bash
# Create (or reuse) the Python environment mmwsl runs in, and print its path.
#
#   bash tools/setup_env.sh            # prints the environment folder on the last line
#
# Environment variables:
#   MMWSL_ENV        environment folder (default: a cache folder keyed by the pinned stack,
#                    so clones with the same pins share one environment)
#   MMWSL_WHEELHOUSE folder holding a prebuilt mmcv 2.1.0 wheel; without it mmcv's compiled
#                    ops are built from source (15-20 minutes on 2 cores)
#   PYTHON           interpreter for a new environment (default: python3.11, else python3)
#
# The script is idempotent: a complete environment whose pins match is reused, and only the
# editable install of this checkout is refreshed.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
PYVER=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PINS_HASH=$(cat "$ROOT"/requirements/pins.txt "$ROOT"/requirements/runtime.txt \
    "$ROOT"/requirements/tests.txt "$ROOT"/requirements/optional.txt | sha256sum | cut -c1-12)
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/mmwsl
ENV_DIR=${MMWSL_ENV:-$CACHE/env-py$PYVER-$PINS_HASH}
STAMP="$ENV_DIR/.mmwsl-complete"

log() { echo "[mmwsl setup] $*" >&2; }

# Installs must come from the package index: pip configurations that add a local folder of
# CPU-only torch wheels would pair a CPU torch with a CUDA torchvision, which cannot load.
export PIP_CONFIG_FILE=/dev/null
unset PIP_FIND_LINKS PIP_EXTRA_INDEX_URL PIP_NO_INDEX || true
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=${PIP_DEFAULT_TIMEOUT:-180}

mkdir -p "$(dirname "$ENV_DIR")"
exec 9>"$ENV_DIR.lock"
flock 9  # one installer at a time per environment

PY="$ENV_DIR/bin/python"
pipi() { "$PY" -m pip install --quiet --progress-bar off "$@"; }

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PINS_HASH" ]; then
    log "reusing environment $ENV_DIR"
else
    log "creating environment $ENV_DIR (python $PYVER)"
    [ -x "$PY" ] || "$PYTHON" -m venv "$ENV_DIR"
    log "installing build tools"
    pipi "setuptools==80.9.0" wheel ninja
    log "installing torch 2.13.0 + torchvision 0.28.0 from the index (about 3 GB)"
    pipi "torch==2.13.0" "torchvision==0.28.0" "numpy>=2.0,<2.4" "setuptools==80.9.0"
    if "$PY" -c 'import mmcv, sys; sys.exit(mmcv.__version__ != "2.1.0")' 2>/dev/null \
        && "$PY" -c 'import mmcv.ops' 2>/dev/null; then
        log "mmcv 2.1.0 with compiled ops already installed"
    elif [ -n "${MMWSL_WHEELHOUSE:-}" ] && ls "$MMWSL_WHEELHOUSE"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
        log "installing mmcv 2.1.0 from wheelhouse $MMWSL_WHEELHOUSE"
        pipi --no-build-isolation --find-links "$MMWSL_WHEELHOUSE" "mmcv==2.1.0"
    else
        [ -n "${MMWSL_WHEELHOUSE:-}" ] && log "no mmcv-2.1.0 wheel in $MMWSL_WHEELHOUSE"
        log "NOTICE: compiling mmcv 2.1.0 with its ops from source; this takes 15-20 minutes on 2 cores"
        # mmcv 2.1.0's setup.py needs pkg_resources.packaging, gone from setuptools>=70:
        # build with an older setuptools, then restore the runtime pin.
        pipi "setuptools==69.5.1" 2>/dev/null || true
        MAX_JOBS=${MAX_JOBS:-$(nproc)} pipi --no-build-isolation --no-binary mmcv "mmcv==2.1.0"
        pipi "setuptools==80.9.0"
    fi
    log "installing mmengine, mmsegmentation, mmpretrain and the runtime/test requirements"
    pipi "mmengine==0.10.7" "mmsegmentation==1.2.2" "mmpretrain==1.2.0" \
        -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt" \
        -r "$ROOT/requirements/optional.txt" \
        "setuptools==80.9.0" "numpy>=2.0,<2.4"
    "$PY" -c 'import mmcv.ops, mmseg.models, mmpretrain.models' \
        || { log "the installed stack does not import; see the error above"; exit 1; }
    echo "$PINS_HASH" > "$STAMP"
fi

# Editable install of this checkout (cheap; redone when the environment points elsewhere).
CURRENT=$(cd / && "$PY" -c 'import importlib.util as u, os
s = u.find_spec("mmwsl"); print(os.path.dirname(os.path.dirname(s.origin)) if s else "")' 2>/dev/null || true)
if [ "$CURRENT" != "$ROOT" ]; then
    log "installing mmwsl from $ROOT in editable mode"
    pipi --no-deps --no-build-isolation -e "$ROOT"
fi
echo "$ENV_DIR"
