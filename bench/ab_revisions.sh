#!/usr/bin/env bash
# Paired A/B of two revisions of Causerie's code: `causerie serve` from the working tree
# ("new") and from OLD_REV ("old", a git worktree put first on PYTHONPATH; same venv, same
# model), one after the other on one port, ROUNDS times in alternating order, each driven by
# bench/serve_bench.py with the remaining arguments. Compare new and old within a round:
# this machine drifts more from one minute to the next than most changes move it.
#
#   bench/ab_revisions.sh OLD_REV ROUNDS [serve_bench args...]
#   bench/ab_revisions.sh 5c274b9 3 --concurrency 1,4,8 --num-prompts 32
set -euo pipefail
cd "$(dirname "$0")/.."
old_rev=$1 rounds=$2
shift 2
model=$(.venv/bin/python -c "from causerie.engine.models import bundled_model_path as p; print(p())")
tree=$(mktemp -d /tmp/causerie-ab-XXXXXX)
scratch=$(mktemp -d /tmp/causerie-ab-data-XXXXXX)
port=${AB_PORT:-8977}
if curl -sf "localhost:$port/health" >/dev/null; then
    echo "port $port is taken (set AB_PORT)" >&2
    exit 1
fi
git worktree add --quiet --detach "$tree/src-old" "$old_rev"
cleanup() {
    git worktree remove --force "$tree/src-old" || true
    rm -rf "$tree" "$scratch"
}
trap cleanup EXIT

run() {  # run NAME PYTHONPATH [serve_bench args...]
    local name=$1 path=$2
    shift 2
    rm -rf "${scratch:?}/$name"
    PYTHONPATH=$path .venv/bin/causerie serve --model "$model" --port "$port" --parallel 8 \
        --ctx-size 4096 --threads 2 --api-key ab --data-dir "$scratch/$name" \
        >"$scratch/$name.log" 2>&1 &
    local pid=$! ready=0
    for _ in $(seq 1 120); do
        kill -0 "$pid" 2>/dev/null || break
        if curl -sf "localhost:$port/health" >/dev/null; then ready=1; break; fi
        sleep 0.5
    done
    if ((!ready)); then
        echo "the $name server did not start; its log:" >&2
        tail -20 "$scratch/$name.log" >&2
        kill "$pid" 2>/dev/null || true
        exit 1
    fi
    echo "== $name"
    .venv/bin/python bench/serve_bench.py --base-url "http://127.0.0.1:$port/v1" --api-key ab \
        --ignore-eos --max-tokens 128 "$@" >"$scratch/$name.out" 2>&1 || true
    grep -E "^(conc|[0-9]+ )|error|Error" "$scratch/$name.out" || tail -5 "$scratch/$name.out"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

for round in $(seq 1 "$rounds"); do
    echo "=== round $round"
    if ((round % 2)); then
        run new "$PWD/src" "$@"
        run old "$tree/src-old/src" "$@"
    else
        run old "$tree/src-old/src" "$@"
        run new "$PWD/src" "$@"
    fi
done
