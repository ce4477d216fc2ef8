# Time R estimatr's lm_robust (HC2) on an ANCOVA with n = 1,000,000 rows and
# k = 12 coefficients (intercept, treatment, baseline, 9 covariates), the
# figure BENCHMARKS.md compares with analysis.BenchmarkOLS.
# Run: Rscript bench/estimatr_ols.R   (Debian: r-base-core r-cran-estimatr)
suppressMessages(library(estimatr))
set.seed(1)
n <- 1e6
d <- data.frame(z = rbinom(n, 1, 0.5), y0 = rnorm(n))
for (j in 1:9) d[[paste0("x", j)]] <- rnorm(n)
d$y <- 0.3 * d$z + 0.6 * d$y0 + rowSums(d[paste0("x", 1:9)]) * 0.1 + rnorm(n)
f <- y ~ z + y0 + x1 + x2 + x3 + x4 + x5 + x6 + x7 + x8 + x9
invisible(lm_robust(f, data = d[1:1000, ], se_type = "HC2")) # warm up
times <- replicate(3, system.time(lm_robust(f, data = d, se_type = "HC2"))[["elapsed"]])
cat(sprintf("estimatr %s lm_robust HC2 n=%d k=12: median %.3f s (runs: %s)\n",
            packageVersion("estimatr"), n, median(times), paste(sprintf("%.3f", times), collapse = ", ")))
