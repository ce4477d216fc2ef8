# Regenerates testdata/reference/estimatr/power_ratio.json: power, total
# sample size and minimum detectable difference of unequal groups (an
# unequal ratio, or one contrast of a trial with three arms), by pwr's
# pwr.t2n.test and pwr.2p2n.test; the totals and differences solved with
# uniroot on the intervals rct uses (N from 2·sum/min part, delta from
# 1e-7·sd to 1e7·sd).
#
# Run from the repository root:
#   Rscript testdata/reference/make_power_ratio.R
# Debian: apt-get install r-base-core r-cran-pwr r-cran-jsonlite
suppressMessages({library(pwr); library(jsonlite)})
res <- list()
add <- function(call) res[[length(res) + 1]] <<- list(call = call, value = eval(parse(text = call)))
add("pwr.t2n.test(n1 = 56, n2 = 28, d = 150/300, sig.level = 0.05)$power")
add("pwr.t2n.test(n1 = 28, n2 = 28, d = 150/300, sig.level = 0.05)$power")
add("pwr.t2n.test(n1 = 75, n2 = 37.5, d = 0.4, sig.level = 0.01)$power")
add("pwr.2p2n.test(h = ES.h(0.50, 0.25), n1 = 56, n2 = 28, sig.level = 0.05)$power")
# Total N of a 2:1:1 trial for 80% power in the contrast of the first arm
# (N/2 families) with the last (N/4).
add("uniroot(function(N) pwr.t2n.test(n1 = N * 2/4, n2 = N * 1/4, d = 150/300)$power - 0.8, c(8 + 1e-10, 1e9))$root")
add("uniroot(function(N) pwr.2p2n.test(h = ES.h(0.50, 0.25), n1 = N * 2/4, n2 = N * 1/4)$power - 0.8, c(8 + 1e-10, 1e9))$root")
# The minimum detectable difference (sd = 1) of that contrast with N = 112.
add("uniroot(function(d) pwr.t2n.test(n1 = 56, n2 = 28, d = d)$power - 0.8, c(1e-7, 1e7))$root")
out <- list(r_version = R.version.string, pwr = as.character(packageVersion("pwr")), results = res)
path <- file.path("testdata", "reference", "estimatr", "power_ratio.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), path)
cat("wrote", path, "\n")
