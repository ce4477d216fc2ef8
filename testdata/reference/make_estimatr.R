# Regenerates testdata/reference/estimatr/<case>/expected.json and
# testdata/reference/estimatr/power.json: the numbers rct's estimators are
# checked against, from R's estimatr, stats and pwr, independently of the Go code.
#
# Each entry of expected.json keeps the R call that made it (`call`, on the
# data frame d read from the case's data.csv); this script evaluates every call
# again and writes the file anew. The data sets themselves are fixed inputs
# (simulated trials: 112 and 600 families in 4 strata, 400 in 40 clusters).
#
# Run from the repository root:
#   Rscript testdata/reference/make_estimatr.R
# Debian: apt-get install r-base-core r-cran-estimatr r-cran-jsonlite r-cran-pwr
# Made with R 4.2.2 and estimatr 1.0.0 (recorded in each file).
suppressMessages({library(estimatr); library(jsonlite)})
dir <- file.path("testdata", "reference", "estimatr")

tidy_term <- function(fit, term) {
  i <- match(term, names(coef(fit)))
  list(term = term, estimate = unname(coef(fit)[i]), std_error = unname(fit$std.error[i]),
       statistic = unname(fit$statistic[i]), df = unname(fit$df[i]), p_value = unname(fit$p.value[i]),
       conf_low = unname(fit$conf.low[i]), conf_high = unname(fit$conf.high[i]))
}

for (case in c("trial112", "trial600", "clustered400")) {
  path <- file.path(dir, case, "expected.json")
  old <- fromJSON(path, simplifyVector = FALSE)
  d <- read.csv(file.path(dir, case, "data.csv"))
  results <- lapply(old$results, function(e) {
    fit <- eval(parse(text = e$call))
    c(list(id = e$id, call = e$call), tidy_term(fit, e$term))
  })
  p <- old$extra$p_adjust$p
  padj <- list(p = p)
  for (m in c("holm", "hochberg", "bonferroni", "BH", "BY")) padj[[m]] <- p.adjust(p, m)
  ft <- fisher.test(table(d$z, d$aid6))
  wt <- t.test(y6 ~ z, data = d)
  extra <- list(
    p_adjust = padj,
    fisher_aid6 = list(call = "fisher.test(table(z, aid6))", p_value = ft$p.value,
                       odds_ratio = unname(ft$estimate), conf_low = ft$conf.int[1], conf_high = ft$conf.int[2]),
    welch_y6 = list(call = "t.test(y6 ~ z)", statistic = unname(wt$statistic),
                    df = unname(wt$parameter), p_value = wt$p.value))
  out <- list(case = case, r_version = R.version.string, estimatr = as.character(packageVersion("estimatr")),
              results = results, extra = extra)
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), path)
  cat("wrote", path, "\n")
}

# Power: each entry's call is evaluated as written (pwr for Cohen's h).
suppressMessages(library(pwr))
path <- file.path(dir, "power.json")
old <- fromJSON(path, simplifyVector = FALSE)
results <- lapply(old$results, function(e) list(call = e$call, value = eval(parse(text = e$call))))
writeLines(toJSON(list(r_version = R.version.string, pwr = as.character(packageVersion("pwr")), results = results),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE), path)
cat("wrote", path, "\n")
