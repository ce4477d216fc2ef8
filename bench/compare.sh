#!/bin/sh
# make bench-compare: rct against what an analyst would otherwise run, side
# by side on this machine, alternating the two (the machine is shared and
# noisy: each pair runs back to back), and prints a table of ratios.
#   estimate, whole process: rct estimate on a 1,000,000-row CSV against
#     Rscript bench/estimate_csv.R (data.table::fread + estimatr::lm_robust)
#   fit alone: analysis.BenchmarkOLS against bench/estimatr_ols.R
#   randomization inference: rct analyze --draws 10000 (the whole analysis)
#     against bench/ri.R (vectorized R, the inference alone) on the data
#     rct data export wrote, of the demo trial (RI_TRIAL=dir: another)
#   survey import: rct survey import of an m6 workbook of ~100,000 answered
#     rows against bench/read_excel.py (pandas.read_excel of the same sheet)
#   survey template: rct survey template of the same ~100,000 families
#     against bench/template_openpyxl.py (openpyxl write-only, the same
#     values, no validations)
# The 100,000-family trial is made once by cmd/rct's BenchmarkSurveyImport
# (about two minutes) and kept in $BENCH_DIR/import.
# Needs R with r-cran-estimatr and r-cran-data.table, python3 with pandas
# and openpyxl (Debian packages).
set -eu
N=${N:-1000000}
PAIRS=${PAIRS:-3}
DIR=${BENCH_DIR:-/tmp/rct-bench}
mkdir -p "$DIR"
command -v Rscript >/dev/null || { echo "Rscript not found: apt-get install r-base-core r-cran-estimatr r-cran-data.table"; exit 1; }
# Debian's python3-pandas and python3-openpyxl live in /usr/bin/python3
# (another python3 may come first in PATH); PY=... chooses.
PY=${PY:-$(test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)}
"$PY" -c 'import pandas, openpyxl' 2>/dev/null || { echo "$PY lacks pandas or openpyxl: apt-get install python3-pandas python3-openpyxl (or PY=...)"; exit 1; }
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

# Randomization inference.
RI_TRIAL=${RI_TRIAL:-demo}
DRAWS=${DRAWS:-10000}
[ -f "$RI_TRIAL/trial.db" ] || make demo DEMO="$RI_TRIAL" > /dev/null
mkdir -p "$DIR/ri"
(cd "$RI_TRIAL" && "$DIR/rct" data export --key trial.key -o "$DIR/ri/data.csv" --force > /dev/null 2>&1)
cols=$(cd "$RI_TRIAL" && "$DIR/rct" analyze --key trial.key --draws 0 --json | "$PY" -c '
import json, sys
a = json.load(sys.stdin)
print(",".join(dict.fromkeys(o["column"] for o in a["contrasts"][0]["outcomes"] if o.get("estimate") is not None)))')
families=$(($(wc -l < "$DIR/ri/data.csv") - 1))
: > "$DIR/rct-ri.t"; : > "$DIR/r-ri.t"; : > "$DIR/r-ri-alone.t"
i=0
while [ $i -lt "$PAIRS" ]; do
	(cd "$RI_TRIAL" && run "$DIR/rct" analyze --key trial.key --draws "$DRAWS") >> "$DIR/rct-ri.t"
	/usr/bin/time -f "%e %M" -o "$DIR/r-ri.one" Rscript bench/ri.R "$DIR/ri/data.csv" "$DRAWS" "$cols" | sed -n 's/^ri \([0-9.]*\) s$/\1/p' >> "$DIR/r-ri-alone.t"
	awk '{printf "%s %.0f\n", $1, $2/1024}' "$DIR/r-ri.one" >> "$DIR/r-ri.t"
	i=$((i + 1))
done
ris=$(cut -d' ' -f1 "$DIR/rct-ri.t" | median); Ris=$(cut -d' ' -f1 "$DIR/r-ri.t" | median); Ralone=$(median < "$DIR/r-ri-alone.t")
echo "| randomization inference, $DRAWS draws, $families families, $(echo "$cols" | tr ',' '\n' | wc -l) outcomes | $ris s (the whole analyze) | $Ris s (read.csv + RI; the RI alone $Ralone s) | $(echo "$ris $Ris" | awk '{printf "%.2f", $1/$2}') (against the RI alone $(echo "$ris $Ralone" | awk '{printf "%.2f", $1/$2}')) |"

# Survey import and template at ~100,000 families.
IMP="$DIR/import"
[ -f "$IMP/m6_filled.xlsx" ] || RCT_BENCH_KEEP="$IMP" go test ./cmd/rct -run '^$' -bench SurveyImport -benchtime 1x -timeout 60m > /dev/null
M6=RCT_NOW=2020-01-05T10:00:00Z
# A trial kept from an older rct is migrated once, here, not in the timings.
cp "$IMP/trial.db.pristine" "$IMP/trial.db"; rm -f "$IMP/trial.db-wal" "$IMP/trial.db-shm"
(cd "$IMP" && "$DIR/rct" status > /dev/null 2>&1) && [ ! -f "$IMP/trial.db-wal" ] && cp "$IMP/trial.db" "$IMP/trial.db.pristine"
cp "$IMP/trial.db.pristine" "$IMP/trial.db"; rm -f "$IMP/trial.db-wal" "$IMP/trial.db-shm"
rows=$(($(cd "$IMP" && env $M6 "$DIR/rct" survey template --wave m6 -o "$DIR/t.xlsx" --force 2>&1 | sed -n 's/.*for \([0-9]*\) families.*/\1/p')))
: > "$DIR/rct-imp.t"; : > "$DIR/pd-imp.t"; : > "$DIR/rct-tpl.t"; : > "$DIR/py-tpl.t"
i=0
while [ $i -lt "$PAIRS" ]; do
	cp "$IMP/trial.db.pristine" "$IMP/trial.db"; rm -f "$IMP/trial.db-wal" "$IMP/trial.db-shm"
	(cd "$IMP" && run env $M6 "$DIR/rct" survey import --wave m6 m6_filled.xlsx) >> "$DIR/rct-imp.t"
	run "$PY" bench/read_excel.py "$IMP/m6_filled.xlsx" m6 >> "$DIR/pd-imp.t"
	cp "$IMP/trial.db.pristine" "$IMP/trial.db"; rm -f "$IMP/trial.db-wal" "$IMP/trial.db-shm"
	(cd "$IMP" && run env $M6 "$DIR/rct" survey template --wave m6 -o "$DIR/t.xlsx" --force) >> "$DIR/rct-tpl.t"
	"$PY" bench/template_openpyxl.py "$DIR/t.xlsx" m6 "$DIR/t-openpyxl.xlsx" | sed -n 's/^write \([0-9.]*\) s$/\1/p' >> "$DIR/py-tpl.t"
	i=$((i + 1))
done
is=$(cut -d' ' -f1 "$DIR/rct-imp.t" | median); im=$(cut -d' ' -f2 "$DIR/rct-imp.t" | median)
ps=$(cut -d' ' -f1 "$DIR/pd-imp.t" | median); pm=$(cut -d' ' -f2 "$DIR/pd-imp.t" | median)
ts=$(cut -d' ' -f1 "$DIR/rct-tpl.t" | median); tm=$(cut -d' ' -f2 "$DIR/rct-tpl.t" | median); pys=$(median < "$DIR/py-tpl.t")
echo "| survey import, $rows rows (every cell checked, stored) | $is s, $im MB ($(echo "$rows $is" | awk '{printf "%.0f", $1/$2}') rows/s) | $ps s, $pm MB (pandas.read_excel) | $(echo "$is $ps" | awk '{printf "%.2f", $1/$2}') |"
echo "| survey template, $rows families (whole process) | $ts s, $tm MB | $pys s (openpyxl write-only, writing alone) | $(echo "$ts $pys" | awk '{printf "%.2f", $1/$2}') |"
echo "(medians of $PAIRS alternated pairs; $(nproc) cores; $(date -u +%Y-%m-%d))"
