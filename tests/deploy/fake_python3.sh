#!/bin/bash
# Stands in for python3 in install.sh's venv steps (tests/deploy/test_install.py).
# As `python3`: `-m venv DIR` makes DIR/bin/python (a copy of this script); anything else runs
# the real interpreter named by $REAL_PYTHON3 (install.sh draws its passwords with it).
# As a venv's `python`: answers pip's commands and logs each call to DIR/../calls.log, so the
# script's own logic runs offline in a second.
set -euo pipefail
if [[ $(basename "$0") == python ]]; then
    venv=$(cd "$(dirname "$0")/.." && pwd)
    printf '%s\n' "$*" >>"$venv/../calls.log"
    case "${1:-} ${2:-} ${3:-}" in
    "-m pip install")
        : >"$venv/installed"
        printf '#!/bin/sh\n' >"$venv/bin/repsled"
        ;;
    "-m pip show") [[ -e $venv/installed ]] ;;
    "-m pip uninstall") rm -f "$venv/installed" ;;
    esac
    exit 0
fi
if [[ ${1:-} == -m && ${2:-} == venv ]]; then
    venv=${*: -1}
    mkdir -p "$venv/bin"
    cp "$0" "$venv/bin/python"
    exit 0
fi
exec "$REAL_PYTHON3" "$@"
