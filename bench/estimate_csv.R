# The whole process an analyst runs instead of `rct estimate`: read the CSV
# with data.table::fread (read.csv when data.table is absent) and fit
# lm_robust (HC2). bench/compare.sh times it against rct, side by side.
# Run: Rscript bench/estimate_csv.R FILE.csv
suppressMessages(library(estimatr))
file <- commandArgs(TRUE)[1]
if (requireNamespace("data.table", quietly = TRUE)) {
  d <- data.table::fread(file)
} else {
  d <- read.csv(file)
}
f <- y ~ z + y0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9
fit <- lm_robust(f, data = d, se_type = "HC2")
cat(sprintf("z\t%.10g\t%.10g\n", coef(fit)[["z"]], fit$std.error[["z"]]))
