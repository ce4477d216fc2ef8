#!/bin/sh
# make bench-compare: rct against what an analyst would otherwise run, side
# by side on this machine, alternating the two (the machine is shared and
# noisy: each pair runs back to back), and prints a table of ratios.
#   estimate, whole process: rct estimate on a 1,000,000-row CSV against
#     Rscript bench/estimate_csv.R (data.table::fread + estimatr::lm_robust)
#   fit alone: analysis.BenchmarkOLS against bench/estimatr_ols.R
# Needs R with r-cran-estimatr and r-cran-data.table (Debian packages).
set -eu
N=${N:-1000000}
PAIRS=${PAIRS:-3}
DIR=${BENCH_DIR:-/tmp/rct-bench}
mkdir -p "$DIR"
command -v Rscript >/dev/null || { echo "Rscript not found: apt-get install r-base-core r-cran-estimatr r-cran-data.table"; exit 1; }
CSV="$DIR/ancova-$N.csv"
[ -f "$CSV" ] || Rscript bench/make_csv.R "$N" "$CSV"
go build -o "$DIR/rct" ./cmd/rct
# seconds and peak RSS (MB) of a command, its output discarded
run() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%s %.0f\n", $1, $2/1024}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$DIR/rct.t"; : > "$DIR/r.t"
i=0
while [ $i -lt "$PAIRS" ]; do
	run "$DIR/rct" estimate --data "$CSV" --outcome y --treatment z --covariates y0,x1,x2,x3,x4,x5,x6,x7,x8,x9 >> "$DIR/rct.t"
	run Rscript bench/estimate_csv.R "$CSV" >> "$DIR/r.t"
	i=$((i + 1))
done
rs=$(cut -d' ' -f1 "$DIR/rct.t" | median); rm=$(cut -d' ' -f2 "$DIR/rct.t" | median)
Rs=$(cut -d' ' -f1 "$DIR/r.t" | median); Rm=$(cut -d' ' -f2 "$DIR/r.t" | median)
fit=$(go test -run "^$" -bench "OLS/n=1000000$" -benchtime 3x ./analysis/ | awk '/ns\/op/ {printf "%.3f", $3/1e9}')
Rfit=$(Rscript bench/estimatr_ols.R | sed -n 's/.*median \([0-9.]*\) s.*/\1/p')
echo "| step ($N rows) | rct | R | ratio rct/R |"
echo "|---|---:|---:|---:|"
echo "| estimate, whole process (read CSV + OLS HC2) | $rs s, $rm MB | $Rs s, $Rm MB (fread + lm_robust) | $(echo "$rs $Rs" | awk '{printf "%.2f", $1/$2}') (memory $(echo "$rm $Rm" | awk '{printf "%.2f", $1/$2}')) |"
echo "| OLS + HC2 fit alone (n = 1,000,000, k = 12) | $fit s | $Rfit s (lm_robust) | $(echo "$fit $Rfit" | awk '{printf "%.2f", $1/$2}') |"
echo "(medians of $PAIRS alternated pairs; $(nproc) cores; $(date -u +%Y-%m-%d))"
