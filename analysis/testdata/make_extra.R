# Reference numbers for the analysis package's estimators that
# testdata/reference/estimatr does not cover, computed in R independently of the Go
# code: estimatr for the joint balance test, and plain R transcriptions of
# the published definitions for the rest (Lee 2009 bounds with fractional
# trimming, Imbens-Manski 2004, the log risk ratio's delta-method interval,
# Anderson 2008's summary index and his sharpened q-value code).
# Run from the repository root:  Rscript analysis/testdata/make_extra.R
# (Debian: r-base-core r-cran-estimatr r-cran-jsonlite)
suppressMessages({library(estimatr); library(jsonlite)})
out <- list(r_version = R.version.string, estimatr = as.character(packageVersion("estimatr")), cases = list())

lee <- function(y, z) {
  s <- !is.na(y)
  q1 <- mean(s[z == 1]); q0 <- mean(s[z == 0])
  trimmed_means <- function(x, p) {
    x <- sort(x); keep <- length(x) * (1 - p)
    w <- pmin(1, pmax(0, keep - (seq_along(x) - 1)))          # weights from the bottom
    low <- sum(w * x) / keep
    wr <- pmin(1, pmax(0, keep - (seq_along(x) - 1)))         # weights from the top
    high <- sum(wr * rev(x)) / keep
    c(low, high)
  }
  y1 <- y[z == 1 & s]; y0 <- y[z == 0 & s]
  if (q1 >= q0) {
    p <- (q1 - q0) / q1; tm <- trimmed_means(y1, p)
    c(lower = tm[1] - mean(y0), upper = tm[2] - mean(y0), trim = p)
  } else {
    p <- (q0 - q1) / q0; tm <- trimmed_means(y0, p)
    c(lower = mean(y1) - tm[2], upper = mean(y1) - tm[1], trim = p)
  }
}

imbens_manski <- function(L, U, sL, sU, alpha = 0.05) {
  delta <- (U - L) / max(sL, sU)
  cn <- uniroot(function(c) pnorm(c + delta) - pnorm(-c) - (1 - alpha), c(0, qnorm(1 - alpha / 2) + 1e-9), tol = 1e-14)$root
  c(lower = L - cn * sL, upper = U + cn * sU)
}

risk_ratio <- function(y, z) {
  p1 <- mean(y[z == 1]); p0 <- mean(y[z == 0]); n1 <- sum(z == 1); n0 <- sum(z == 0)
  se <- sqrt((1 - p1) / (n1 * p1) + (1 - p0) / (n0 * p0))
  c(estimate = p1 / p0, std_error = se, conf_low = exp(log(p1 / p0) - qnorm(0.975) * se),
    conf_high = exp(log(p1 / p0) + qnorm(0.975) * se), p_value = 2 * pnorm(-abs(log(p1 / p0) / se)))
}

anderson_index <- function(Y, z) {
  S <- sapply(seq_len(ncol(Y)), function(k) {
    y <- Y[, k]; (y - mean(y[z == 0], na.rm = TRUE)) / sd(y[z == 0], na.rm = TRUE)
  })
  cc <- complete.cases(S)
  w <- rowSums(solve(cov(S[cc, ])))
  apply(S, 1, function(s) { ok <- !is.na(s); if (!any(ok)) NA else sum(w[ok] * s[ok]) / sum(w[ok]) })
}

bky <- function(p) {
  m <- length(p); r <- rank(p); q_out <- rep(1, m)
  for (step in 1000:1) {
    q <- step / 1000; q1 <- q / (1 + q)
    r1 <- max(c(0, r[q1 * r / m >= p]))
    q2 <- q1 * m / (m - r1)
    r2 <- max(c(0, r[q2 * r / m >= p]))
    q_out[r <= r2] <- q
  }
  q_out
}

for (case in c("trial112", "trial600", "clustered400")) {
  d <- read.csv(file.path("testdata", "reference", "estimatr", case, "data.csv"))
  fs <- summary(lm_robust(z ~ y0 + aid0 + factor(stratum), data = d, se_type = "HC2"))$fstatistic
  lb <- lee(d$y12, d$z)
  rr <- risk_ratio(d$aid6, d$z)
  idx <- anderson_index(cbind(d$y6, d$aid6, d$y12), d$z)
  d$idx <- idx
  ie <- lm_robust(idx ~ z, data = d, se_type = "HC2")
  out$cases[[case]] <- list(
    joint_balance = list(call = "summary(lm_robust(z ~ y0 + aid0 + factor(stratum), se_type = 'HC2'))$fstatistic",
                         f = unname(fs["value"]), df1 = unname(fs["numdf"]), df2 = unname(fs["dendf"]),
                         p_value = unname(pf(fs["value"], fs["numdf"], fs["dendf"], lower.tail = FALSE))),
    lee_y12 = as.list(lb),
    risk_ratio_aid6 = as.list(rr),
    anderson_index = list(outcomes = "y6, aid6, y12", values = idx,
                          effect = unname(coef(ie)["z"]), std_error = unname(ie$std.error["z"])))
}
# Heterogeneity by stratum (Wald F on the z × stratum interactions, HC2),
# the effect within stratum s2, and a dose-response slope within the
# treated (y0 standing in for a dose).
out$heterogeneity <- list()
for (case in c("trial112", "trial600")) {
  d <- read.csv(file.path("testdata", "reference", "estimatr", case, "data.csv"))
  f <- lm_robust(y6 ~ z * factor(stratum), data = d, se_type = "HC2")
  ints <- grep("^z:", names(coef(f)), value = TRUE)
  b <- coef(f)[ints]
  F <- as.numeric(t(b) %*% solve(vcov(f)[ints, ints]) %*% b) / length(b)
  sub <- lm_robust(y6 ~ z, data = d[d$stratum == "s2", ], se_type = "HC2")
  dose <- lm_robust(y6 ~ y0, data = d[d$z == 1, ], se_type = "HC2")
  out$heterogeneity[[case]] <- list(call = "lm_robust(y6 ~ z * factor(stratum), se_type = 'HC2'), Wald F on the z: terms",
    f = F, df2 = f$df.residual, p_value = pf(F, length(b), f$df.residual, lower.tail = FALSE),
    s2_estimate = unname(coef(sub)["z"]), s2_std_error = unname(sub$std.error["z"]),
    dose_estimate = unname(coef(dose)["y0"]), dose_std_error = unname(dose$std.error["y0"]))
}

p <- c(0.003331, 0.003383, 0.008222, 0.017429, 0.141361, 0.191903, 0.739242, 0.774458)
out$bky <- list(p = p, q = bky(p))
out$imbens_manski <- list(input = list(L = 10, U = 60, sL = 20, sU = 25), ci = as.list(imbens_manski(10, 60, 20, 25)))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), "analysis/testdata/extra.json")
cat("wrote analysis/testdata/extra.json\n")
