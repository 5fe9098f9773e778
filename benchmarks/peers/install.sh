#!/usr/bin/env bash
# Install the peers, each into its own virtual environment under benchmarks/peers/.envs/ (idempotent).
#
#   joey/  joeynmt 2.3.0
#   onmt/  OpenNMT-py 3.5.1 (installed --no-deps: it pins torch<2.3) and its runtime needs by hand
#   ct2/   CTranslate2 4.8.5 and what its OpenNMT-py converter needs
#
# Every environment gets torch==2.13.0 first (a local CPU wheel serves it; any other version would pull
# gigabytes of CUDA wheels), and the install stops if a later step changed it. An environment whose
# stamp file matches its package list is left alone.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENVS="$HERE/.envs"
PYTHON="${PYTHON:-python3}"
TORCH="torch==2.13.0"

JOEY_PKGS=(joeynmt==2.3.0 importlib_metadata)  # joeynmt imports importlib_metadata without declaring it
ONMT_PKG=opennmt-py==3.5.1
ONMT_DEPS=(configargparse "ctranslate2==4.8.5" tensorboard flask waitress "pyonmttok>=1.37,<2" pyyaml sacrebleu
           rapidfuzz pyahocorasick fasttext-wheel spacy six)
CT2_PKGS=("ctranslate2==4.8.5" pyyaml)  # the OpenNMT-py converter loads checkpoints with the torch above

# pip install into the environment being made ($PY), without the warnings about the extra local indexes
# that hold nothing for a package.
pip_install() {
    "$PY" -m pip install --quiet "$@" 2> >(grep -v 'is ignored: it is neither a file nor a directory' >&2)
}

# make_env NAME SPEC CMD... : create .envs/NAME with torch, run CMD (with $PY set), check torch, stamp.
make_env() {
    local name="$1" spec="$2"; shift 2
    local dir="$ENVS/$name"
    if [[ -f "$dir/.installed" && "$(cat "$dir/.installed")" == "$spec" ]]; then
        echo "[$name] up to date ($dir)"
        return
    fi
    echo "[$name] installing into $dir"
    rm -rf "$dir"
    "$PYTHON" -m venv "$dir"
    PY="$dir/bin/python"
    pip_install "$TORCH"
    "$@"
    local version
    version="$("$PY" -c 'import torch; print(torch.__version__)')"
    if [[ "$version" != 2.13.0* ]]; then
        echo "[$name] torch became $version; expected 2.13.0" >&2
        exit 1
    fi
    echo "$spec" > "$dir/.installed"
    echo "[$name] done (torch $version)"
}

install_joey() {
    pip_install "${JOEY_PKGS[@]}" "$TORCH"  # torch named again so that pip keeps it
    "$PY" -c 'import joeynmt'
}

install_onmt() {
    pip_install --no-deps "$ONMT_PKG"
    pip_install "${ONMT_DEPS[@]}" "$TORCH"  # pip then warns that opennmt-py wants torch<2.3: expected
    "$PY" -W ignore -c 'import onmt, ctranslate2'
}

install_ct2() {
    pip_install "${CT2_PKGS[@]}" "$TORCH"
    "$PY" -c 'import ctranslate2'
}

mkdir -p "$ENVS"
make_env joey "$TORCH ${JOEY_PKGS[*]}" install_joey
make_env onmt "$TORCH $ONMT_PKG ${ONMT_DEPS[*]}" install_onmt
make_env ct2 "$TORCH ${CT2_PKGS[*]}" install_ct2
