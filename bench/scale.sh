#!/bin/sh
# The scale table's large-trial steps (BENCHMARKS.md, "Scale"): two rct
# binaries side by side, alternated, PAIRS times, on one trial:
#   analyze --draws 10000 (blinded, keyed), report (blinded, keyed),
#   data export --key.
# Run from the project's root:
#   sh bench/scale.sh OLD_RCT NEW_RCT TRIAL_DIR
# TRIAL_DIR holds trial.db and trial.key, e.g. `make demo FAMILIES=100000
# DEMO=demo100k` (then `sqlite3 demo100k/trial.db "VACUUM INTO 'x.db'"` for
# a compact copy). Keyed steps append to the audit chain, as they would for
# a user. Prints one line per run: binary, step, seconds, peak RSS (KB);
# the outputs go to $OUT (default /tmp/rct-scale) for comparison.
set -eu
OLD=$(realpath "$1"); NEW=$(realpath "$2"); TRIAL=$3
PAIRS=${PAIRS:-2}
OUT=${OUT:-/tmp/rct-scale}
mkdir -p "$OUT"
cd "$TRIAL"
export RCT_NOW=${RCT_NOW:-2019-12-31T17:00:00Z}
step() { # name binary-label binary args...
	name=$1 label=$2 bin=$3; shift 3
	/usr/bin/time -f "$label $name %e s %M KB" "$bin" "$@" > "$OUT/$label-$name.out" 2> "$OUT/$label-$name.err" || { tail -3 "$OUT/$label-$name.err"; exit 1; }
	tail -1 "$OUT/$label-$name.err"
}
i=0
while [ $i -lt "$PAIRS" ]; do
	for b in old new; do
		bin=$OLD; [ $b = new ] && bin=$NEW
		step analyze-blinded $b "$bin" analyze --draws 10000 --json
		step analyze-keyed $b "$bin" analyze --draws 10000 --json --key trial.key
		step report-blinded $b "$bin" report --draws 10000 -o "$OUT/$b-rb.html" --force
		step report-keyed $b "$bin" report --draws 10000 --key trial.key -o "$OUT/$b-rk.html" --force
		step export-keyed $b "$bin" data export --key trial.key -o "$OUT/$b-export/data.csv" --force
	done
	i=$((i + 1))
done
for s in analyze-blinded analyze-keyed; do
	cmp -s "$OUT/old-$s.out" "$OUT/new-$s.out" && echo "$s: the same JSON" || echo "$s: the JSON differs"
done
for f in data.csv data_codebook.csv data.R data.do; do
	cmp -s "$OUT/old-export/$f" "$OUT/new-export/$f" && echo "export $f: the same" || echo "export $f: differs"
done
