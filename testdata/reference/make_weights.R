# Regenerates testdata/reference/estimatr/weights_collinear.json: estimatr's
# numbers for weighted least squares and for models with constant or
# collinear covariates, on the reference data sets with three columns
# added (written by this script into the data it fits, and rebuilt the same
# way by the Go test):
#   w      = 1 + (row number %% 3)        weights 2, 3, 1, 2, 3, 1, ...
#   const  = 1                            a constant covariate
#   y0copy = 2 * y0 + 3                   a linear combination of y0 and the intercept
#
# Run from the repository root:
#   Rscript testdata/reference/make_weights.R
# Debian: apt-get install r-base-core r-cran-estimatr r-cran-jsonlite
suppressMessages({library(estimatr); library(jsonlite)})
dir <- file.path("testdata", "reference", "estimatr")
term <- function(fit, name, call) {
  i <- match(name, names(coef(fit)))
  list(call = call, term = name, estimate = unname(coef(fit)[i]), std_error = unname(fit$std.error[i]),
       statistic = unname(fit$statistic[i]), df = unname(fit$df[i]), p_value = unname(fit$p.value[i]),
       conf_low = unname(fit$conf.low[i]), conf_high = unname(fit$conf.high[i]))
}
out <- list(r_version = R.version.string, estimatr = as.character(packageVersion("estimatr")), cases = list())
for (case in c("trial112", "clustered400")) {
  d <- read.csv(file.path(dir, case, "data.csv"))
  d$w <- 1 + (seq_len(nrow(d)) %% 3)
  d$const <- 1
  d$y0copy <- 2 * d$y0 + 3
  calls <- c(
    "lm_robust(y6 ~ z + y0, data = d, weights = w, se_type = 'HC2')",
    "lm_robust(y6 ~ z + y0, data = d, weights = w, se_type = 'HC1')",
    "lm_robust(y6 ~ z + y0, data = d, weights = w, se_type = 'HC0')",
    "lm_robust(y6 ~ z + y0, data = d, weights = w, se_type = 'HC3')",
    "lm_robust(y6 ~ z + y0, data = d, weights = w, se_type = 'classical')",
    "lm_robust(y6 ~ z + y0, data = d, weights = w, clusters = cluster, se_type = 'CR0')",
    "lm_robust(y6 ~ z + y0, data = d, weights = w, clusters = cluster, se_type = 'stata')",
    "lm_robust(y6 ~ z + y0 + const + y0copy, data = d, se_type = 'HC2')",
    "lm_robust(y6 ~ z + y0 + const + y0copy + factor(stratum), data = d, weights = w, se_type = 'HC2')")
  out$cases[[case]] <- lapply(calls, function(cl) term(eval(parse(text = cl)), "z", cl))
}
path <- file.path(dir, "weights_collinear.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), path)
cat("wrote", path, "\n")
