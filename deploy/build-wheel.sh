#!/usr/bin/env bash
# Build a repsled wheel from this checkout, optionally with the engine compiled to C.
# docs/install.md, "A compiled engine", says when that is worth it.
#
#   deploy/build-wheel.sh DIR                 a pure-Python wheel into DIR
#   deploy/build-wheel.sh --compiled DIR      the engine and the trace reader compiled by
#                                             mypyc (needs a C compiler and Python's headers)
#   deploy/build-wheel.sh --compiled --no-build-isolation DIR
#                                             build with the tools of the running venv
#                                             (a development venv has them; no download)
#
# The build runs on a copy of the sources in a temporary folder: a compiled build leaves
# its modules beside the sources it compiles, and in the checkout they would shadow the
# Python files the next time they are edited. Prints the wheel's path.
set -euo pipefail

SRC_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON=${PYTHON:-python3}
COMPILED=0
ISOLATION=(--use-pep517) # pip's default; an array that is never empty, for set -u
OUT=""

die() {
    printf 'build-wheel.sh: error: %s\n' "$*" >&2
    exit 2
}

while (($#)); do
    case $1 in
    --compiled) COMPILED=1 ;;
    --no-build-isolation) ISOLATION=(--no-build-isolation) ;;
    -h | --help)
        sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    -*) die "unknown option $1 (see --help)" ;;
    *)
        [[ -z $OUT ]] || die "one output folder only (got $OUT and $1)"
        OUT=$1
        ;;
    esac
    shift
done
[[ -n $OUT ]] || die "name the folder the wheel goes into (see --help)"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir "$WORK/src"
# Only what the wheel is made of: no venv, no caches, no modules compiled earlier.
(cd "$SRC_DIR" && tar --exclude=__pycache__ --exclude='*.so' --exclude='*.pyc' \
    -cf - pyproject.toml README.md firmware sensor tempo) | tar -xf - -C "$WORK/src"

HINT=""
if ((COMPILED)); then
    export HATCH_BUILD_HOOK_ENABLE_MYPYC=true
    HINT="; a compiled build needs gcc and the Python headers (python3-dev)"
    printf 'build-wheel.sh: compiling the engine (about a minute on a desktop, several on a Pi)\n' >&2
fi
"$PYTHON" -m pip wheel --quiet --no-deps "${ISOLATION[@]}" -w "$WORK/dist" "$WORK/src" >&2 ||
    die "the build failed (see above)$HINT"
wheels=("$WORK"/dist/repsled-*.whl)
[[ -f ${wheels[0]} ]] || die "the build made no wheel"
cp "${wheels[0]}" "$OUT/"
printf '%s\n' "$OUT/$(basename "${wheels[0]}")"
