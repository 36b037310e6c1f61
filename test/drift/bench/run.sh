#!/bin/sh
# Side-by-side benchmark of check_drift and the same job in numpy/scipy
# (test/drift/scipy/drift_scipy.py): 1,000,000 reference and 1,000,000
# current rows of 5 numeric columns in CSV, default statistics.
#
#   test/drift/bench/run.sh [ROWS]
#
# The data is generated once into a temporary directory, removed at exit.
# Prints wall time and peak RSS of each and the ratio.
set -eu
ROWS=${1:-1000000}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)"; exit 1; }
$PY -c 'import numpy, scipy' || { echo "needs python3-numpy and python3-scipy"; exit 1; }

echo "generating $ROWS rows x 5 columns, twice, in $TMP"
$PY "$ROOT/test/drift/bench/gen.py" "$TMP" "$ROWS"
(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$TMP/check_drift" ./plugins/cmd/check_drift)

# Read the files once so both runs start from the page cache.
cat "$TMP/reference.csv" "$TMP/current.csv" >/dev/null

run() { # name, command...
	name=$1
	shift
	/usr/bin/time -f "%e %M" -o "$TMP/$name.time" "$@" >"$TMP/$name.out" || true
	set -- $(cat "$TMP/$name.time")
	printf '%-14s wall %6.2f s   max RSS %5d MB\n' "$name" "$1" $(($2 / 1024))
}
run check_drift "$TMP/check_drift" --reference "$TMP/reference.csv" --current "$TMP/current.csv"
run numpy_scipy $PY "$ROOT/test/drift/scipy/drift_scipy.py" "$TMP/reference.csv" "$TMP/current.csv"
awk '{print $1}' "$TMP/check_drift.time" "$TMP/numpy_scipy.time" | paste -sd' ' |
	awk '{printf "ratio          numpy/scipy takes %.1fx the time of check_drift\n", $2 / $1}'
set -- $(cat "$TMP/check_drift.time") $(cat "$TMP/numpy_scipy.time")
awk -v a="$2" -v b="$4" 'BEGIN {printf "               and %.1fx the memory\n", b / a}'
echo
head -1 "$TMP/check_drift.out" | cut -c1-200
