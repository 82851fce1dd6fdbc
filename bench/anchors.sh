#!/usr/bin/env bash
# Build the reference ("anchor") systems that Causerie is benchmarked against.
#
#   a. llama.cpp's own llama-server, llama-bench and llama-batched-bench, built
#      with cmake (CPU only, Release, no curl, no web UI download) from the exact
#      llama.cpp source vendored in the llama-cpp-python sdist on PyPI, so all
#      systems share one llama.cpp revision.  Binaries land in .anchors/bin/.
#   b. a separate venv .anchors/venv-lcp with llama-cpp-python[server] to run
#      llama-cpp-python's own OpenAI-compatible server.
#
# Everything goes to bench/.anchors/ (git-ignored).  Idempotent: steps whose
# outputs exist are skipped.  Usage:  bench/anchors.sh [llama-cpp] [lcp]
# (default: both).  Environment: LCP_VERSION (0.3.36), JOBS (2), PYTHON (base
# interpreter for the venv; default: the one behind /work/main/.venv).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
ANCHORS="${ANCHORS_DIR:-$HERE/.anchors}"
LCP_VERSION="${LCP_VERSION:-0.3.36}"
JOBS="${JOBS:-2}"
BIN="$ANCHORS/bin"
DL="$ANCHORS/dl"
SRC="$ANCHORS/src/llama_cpp_python-$LCP_VERSION"
BUILD="$ANCHORS/build-llama.cpp"
VENV="$ANCHORS/venv-lcp"
TOOLS=(llama-server llama-bench llama-batched-bench)

log() { printf '[anchors] %s\n' "$*" >&2; }

main_python() {
    if [[ -n "${PYTHON:-}" ]]; then
        echo "$PYTHON"
    elif [[ -x "$ROOT/.venv/bin/python" ]]; then
        "$ROOT/.venv/bin/python" -c 'import sys; print(sys._base_executable)'
    else
        command -v python3
    fi
}

# pip used only to fetch the sdist (any pip will do).
fetch_pip() {
    if [[ -x "$ROOT/.venv/bin/python" ]]; then
        echo "$ROOT/.venv/bin/python -m pip"
    else
        echo "$(main_python) -m pip"
    fi
}

need_llama_cpp() {
    local t
    for t in "${TOOLS[@]}"; do
        [[ -x "$BIN/$t" ]] || return 0
    done
    return 1
}

build_llama_cpp() {
    if ! need_llama_cpp; then
        log "llama.cpp tools already built in $BIN (delete them to rebuild)"
        return
    fi
    mkdir -p "$DL" "$ANCHORS/src" "$BIN"
    local sdist="$DL/llama_cpp_python-$LCP_VERSION.tar.gz"
    if [[ ! -f "$sdist" ]]; then
        log "downloading llama-cpp-python==$LCP_VERSION sdist"
        $(fetch_pip) download --no-binary :all: --no-deps \
            "llama-cpp-python==$LCP_VERSION" -d "$DL"
    fi
    if [[ ! -f "$SRC/vendor/llama.cpp/CMakeLists.txt" ]]; then
        log "unpacking $sdist"
        tar -xzf "$sdist" -C "$ANCHORS/src"
    fi
    local cmake_args=(
        -S "$SRC/vendor/llama.cpp" -B "$BUILD"
        -DCMAKE_BUILD_TYPE=Release
        -DBUILD_SHARED_LIBS=OFF
        -DLLAMA_CURL=OFF
        -DLLAMA_OPENSSL=OFF
        -DLLAMA_BUILD_UI=OFF
        -DLLAMA_USE_PREBUILT_UI=OFF
        -DLLAMA_BUILD_TESTS=OFF
        -DLLAMA_BUILD_EXAMPLES=OFF
        -DLLAMA_BUILD_TOOLS=ON
        -DLLAMA_BUILD_SERVER=ON
        -DGGML_CUDA=OFF
        -DGGML_VULKAN=OFF
        -DGGML_METAL=OFF
        -DLLAMA_BUILD_APP=OFF
    )
    log "configuring llama.cpp (CPU only, Release)"
    cmake "${cmake_args[@]}"
    log "building ${TOOLS[*]} with -j$JOBS (takes a while on few cores)"
    cmake --build "$BUILD" --config Release -j "$JOBS" --target "${TOOLS[@]}"
    local t
    for t in "${TOOLS[@]}"; do
        install -m 0755 "$BUILD/bin/$t" "$BIN/$t"
    done
    "$BIN/llama-server" --version >"$BIN/VERSION.txt" 2>&1 || true
    log "installed: $(tr '\n' ' ' <"$BIN/VERSION.txt")"
}

build_lcp_venv() {
    if [[ -x "$VENV/bin/python" ]] &&
        "$VENV/bin/python" -c 'import llama_cpp.server.app, uvicorn' 2>/dev/null; then
        log "llama-cpp-python server venv already present in $VENV"
        return
    fi
    local py
    py="$(main_python)"
    log "creating $VENV with $py"
    "$py" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --upgrade pip >/dev/null
    log "installing llama-cpp-python[server]==$LCP_VERSION (compiles unless pip's wheel cache has it)"
    "$VENV/bin/python" -m pip install "llama-cpp-python[server]==$LCP_VERSION"
    "$VENV/bin/python" -c 'import llama_cpp; print("llama_cpp", llama_cpp.__version__)'
}

main() {
    local targets=("$@")
    [[ ${#targets[@]} -gt 0 ]] || targets=(llama-cpp lcp)
    mkdir -p "$ANCHORS"
    local t
    for t in "${targets[@]}"; do
        case "$t" in
            llama-cpp) build_llama_cpp ;;
            lcp) build_lcp_venv ;;
            *)
                log "unknown target '$t' (expected: llama-cpp, lcp)"
                exit 2
                ;;
        esac
    done
    log "done; anchors in $ANCHORS"
}

main "$@"
