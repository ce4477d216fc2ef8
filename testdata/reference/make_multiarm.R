# Regenerates testdata/reference/estimatr/multiarm.json: estimatr's numbers
# for the analysis of trials with three arms, on the trial112 reference data
# with a three-group column added (written by this script into the data it
# fits, and rebuilt the same way by the Go test):
#   g = (row number - 1) %% 3      groups 0, 1, 2, 0, 1, 2, ...
#
# joint: the joint balance test across groups: lm_robust of the indicators of
#   groups 1 and 2 on the covariates (one model, two outcomes: estimatr's
#   covariance across the equations), Wald F of every covariate's
#   coefficient in both equations; and the same with two groups (z).
# fixed_effects: the stratum-cell adjustment, lm_robust(..., fixed_effects =
#   ~ stratum), which the dummies of the cells reproduce.
#
# Run from the repository root:
#   Rscript testdata/reference/make_multiarm.R
# Debian: apt-get install r-base-core r-cran-estimatr r-cran-jsonlite
suppressMessages({library(estimatr); library(jsonlite)})
dir <- file.path("testdata", "reference", "estimatr")
d <- read.csv(file.path(dir, "trial112", "data.csv"))
d$g <- (seq_len(nrow(d)) - 1) %% 3
d$D1 <- as.numeric(d$g == 1)
d$D2 <- as.numeric(d$g == 2)
wald <- function(fit, call) {
  b <- coef(fit)
  b <- if (is.matrix(b)) as.vector(b) else b
  V <- vcov(fit)
  keep <- !grepl("Intercept", rownames(V))
  bq <- b[keep]
  Vq <- V[keep, keep]
  q <- length(bq)
  F <- as.numeric(t(bq) %*% solve(Vq, bq)) / q
  df2 <- fit$df.residual
  list(call = call, f = F, df1 = q, df2 = unname(df2), p_value = pf(F, q, df2, lower.tail = FALSE))
}
term <- function(fit, name, call) {
  i <- match(name, names(coef(fit)))
  list(call = call, term = name, estimate = unname(coef(fit)[i]), std_error = unname(fit$std.error[i]),
       df = unname(fit$df[i]), p_value = unname(fit$p.value[i]),
       conf_low = unname(fit$conf.low[i]), conf_high = unname(fit$conf.high[i]))
}
joint <- list()
for (se in c("HC2", "HC0", "HC1", "HC3")) {
  cl <- sprintf("lm_robust(cbind(D1, D2) ~ y0 + aid0 + factor(stratum), data = d, se_type = '%s')", se)
  joint[[length(joint) + 1]] <- c(wald(eval(parse(text = cl)), cl), se = se, groups = 3)
}
cl <- "lm_robust(z ~ y0 + aid0 + factor(stratum), data = d, se_type = 'HC2')"
joint[[length(joint) + 1]] <- c(wald(eval(parse(text = cl)), cl), se = "HC2", groups = 2)
fe <- list()
for (cl in c("lm_robust(y6 ~ z + y0, data = d, fixed_effects = ~ stratum, se_type = 'HC2')",
             "lm_robust(y6 ~ z + y0 + factor(stratum), data = d, se_type = 'HC2')",
             "lm_robust(y6 ~ z + y0, data = d, fixed_effects = ~ stratum, se_type = 'HC1')")) {
  fe[[length(fe) + 1]] <- term(eval(parse(text = cl)), "z", cl)
}
out <- list(r_version = R.version.string, estimatr = as.character(packageVersion("estimatr")),
            joint = joint, fixed_effects = fe)
path <- file.path(dir, "multiarm.json")
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), path)
cat("wrote", path, "\n")
