# Write the ANCOVA data set of the estimation benchmarks as CSV: n rows of
# z, y0, x1..x9, y (as bench/estimatr_ols.R draws them).
# Run: Rscript bench/make_csv.R N FILE.csv   (needs r-cran-data.table)
suppressMessages(library(data.table))
set.seed(1)
n <- as.integer(commandArgs(TRUE)[1])
d <- data.table(z = rbinom(n, 1, 0.5), y0 = rnorm(n))
for (j in 1:9) d[[paste0("x", j)]] <- rnorm(n)
d$y <- 0.3 * d$z + 0.6 * d$y0 + rowSums(d[, paste0("x", 1:9), with = FALSE]) * 0.1 + rnorm(n)
fwrite(d, commandArgs(TRUE)[2])
