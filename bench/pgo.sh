#!/bin/sh
# bench/pgo.sh TRIAL_DIR: remake cmd/rct/default.pgo, the CPU profile the Go
# compiler optimizes rct for (profile-guided optimization: go build uses
# it by itself). The profile is of the steps that take seconds at scale,
# each run once:
#   survey import of the ~100,000-row m6 workbook ($BENCH_DIR/import, as
#     make bench-compare makes it);
#   analyze --key, report (blinded) and data export --key on TRIAL_DIR, a
#     large trial with its key (make demo FAMILIES=100000 DEMO=demo100k).
# A keyed run appends to TRIAL_DIR's audit chain: give it a copy.
set -eu
TRIAL=${1:?usage: bench/pgo.sh TRIAL_DIR (a copy of a large trial, with trial.key)}
DIR=${BENCH_DIR:-/tmp/rct-bench}
IMP="$DIR/import"
[ -f "$IMP/m6_filled.xlsx" ] || { echo "no $IMP/m6_filled.xlsx: run make bench-compare first"; exit 1; }
OUT=$(mktemp -d)
go build -pgo=off -o "$OUT/rct" ./cmd/rct
RCT="$OUT/rct"
cp "$IMP/trial.db.pristine" "$IMP/trial.db"; rm -f "$IMP/trial.db-wal" "$IMP/trial.db-shm"
(cd "$IMP" && RCT_NOW=2020-01-05T10:00:00Z RCT_CPUPROFILE="$OUT/import.prof" "$RCT" survey import --wave m6 m6_filled.xlsx > /dev/null)
mkdir -p "$OUT/export"
(cd "$TRIAL" && RCT_CPUPROFILE="$OUT/analyze.prof" "$RCT" analyze --key trial.key --draws 10000 --json > /dev/null)
(cd "$TRIAL" && RCT_CPUPROFILE="$OUT/report.prof" "$RCT" report --draws 10000 -o "$OUT/report.html" > /dev/null)
(cd "$TRIAL" && RCT_CPUPROFILE="$OUT/export.prof" "$RCT" data export --key trial.key -o "$OUT/export/data.csv" > /dev/null)
go tool pprof -proto "$OUT/import.prof" "$OUT/analyze.prof" "$OUT/report.prof" "$OUT/export.prof" > cmd/rct/default.pgo
rm -rf "$OUT"
echo "cmd/rct/default.pgo: $(wc -c < cmd/rct/default.pgo) bytes"
