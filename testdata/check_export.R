# check_export.R DIR: reproduces, from the exported data set alone, every
# estimate rct analyze printed, with estimatr, to 1e-8 (df 1e-6).
#
# DIR holds what rct wrote: data.csv and data.R (rct data export) and
# analysis.json (rct analyze --json). The data are read through data.R, as
# an analyst would; for every contrast the families of its two groups are
# kept (the group column), z is 1 for the arm's group, and for every
# outcome the model is the one rct names: lm_robust of the outcome (the
# column analysis.json gives) on z and the covariates listed, each rebuilt
# from the export by its name:
#   VAR=LEVEL          1 where the stratum variable VAR is LEVEL
#   cell=L1:L2         1 where the stratum cell is L1:L2
#   OUTCOME_baseline   the baseline column, missing values set to the mean
#                      of the outcome's respondents
#   OUTCOME_baseline_missing  1 where the baseline was missing
# with the analysis' se_type and alpha; the unadjusted estimate is
# estimatr's difference_in_means (Welch). Every cell data.do marks as a
# declared missing code must be NA in R, and no numeric column may hold a
# declared missing code. Exit status 1 on any difference.
#
# Run by cmd/rct's TestExportReproducesAnalyze (CI installs R):
#   Rscript testdata/check_export.R DIR
# Debian: apt-get install r-base-core r-cran-estimatr r-cran-jsonlite
suppressMessages({library(estimatr); library(jsonlite)})
dir <- commandArgs(trailingOnly = TRUE)[1]
rct_csv <- file.path(dir, "data.csv")
source(file.path(dir, "data.R"))
a <- fromJSON(file.path(dir, "analysis.json"), simplifyVector = FALSE)
tol <- 1e-8
checked <- 0
bad <- 0
close <- function(got, want, tol) isTRUE(abs(got - want) <= tol * max(abs(want), 1e-12)) || isTRUE(got == want)
report <- function(what, got, want, tol) {
  if (!close(got, want, tol)) {
    cat(sprintf("DIFFERS %s: R %.15g, rct %.15g\n", what, got, want))
    bad <<- bad + 1
  }
}
covariate <- function(name, s, o, y) {
  if (startsWith(name, "cell=")) return(as.numeric(s$stratum_cell == substring(name, 6)))
  if (name == paste0(o$outcome, "_baseline_missing")) return(as.numeric(is.na(s[[o$baseline_column]])))
  if (name == paste0(o$outcome, "_baseline")) {
    b <- as.numeric(s[[o$baseline_column]])
    b[is.na(b)] <- mean(b, na.rm = TRUE)
    return(b)
  }
  kv <- strsplit(name, "=", fixed = TRUE)[[1]]
  if (length(kv) == 2 && kv[1] %in% names(s)) return(as.numeric(s[[kv[1]]] == kv[2]))
  stop("covariate ", name, " is not in the export")
}
for (c in a$contrasts) {
  codes <- unlist(c$codes)
  sub <- d[d$group %in% codes, ]
  sub$z <- as.numeric(sub$group == codes[2])
  for (o in c$outcomes) {
    if (is.null(o$estimate)) next
    y <- as.numeric(sub[[o$column]])
    s <- sub[!is.na(y), ]
    X <- data.frame(y = y[!is.na(y)], z = s$z, check.names = FALSE)
    covs <- unlist(o$covariates)
    for (v in covs) X[[v]] <- covariate(v, s, o)
    f <- reformulate(c("z", sprintf("`%s`", covs)), response = "y")
    fit <- lm_robust(f, data = X, se_type = a$se_type, alpha = a$alpha)
    what <- sprintf("%s %s %s", c$id, o$outcome, o$wave)
    e <- o$estimate
    report(paste(what, "estimate"), unname(coef(fit)["z"]), e$estimate, tol)
    report(paste(what, "std_error"), unname(fit$std.error["z"]), e$std_error, tol)
    report(paste(what, "df"), unname(fit$df["z"]), e$df, 1e-6)
    report(paste(what, "p_value"), unname(fit$p.value["z"]), e$p_value, tol)
    report(paste(what, "conf_low"), unname(fit$conf.low["z"]), e$conf_low, tol)
    report(paste(what, "conf_high"), unname(fit$conf.high["z"]), e$conf_high, tol)
    u <- difference_in_means(y ~ z, data = X, alpha = a$alpha)
    report(paste(what, "unadjusted"), unname(u$coefficients), o$unadjusted$estimate, tol)
    report(paste(what, "unadjusted std_error"), unname(u$std.error), o$unadjusted$std_error, tol)
    report(paste(what, "unadjusted p_value"), unname(u$p.value), o$unadjusted$p_value, tol)
    checked <- checked + 1
  }
}
# Declared missing codes: every cell data.do sets to an extended missing
# value is NA here, and no numeric column holds a declared missing code.
do <- readLines(file.path(dir, "data.do"))
ren <- regmatches(do, regexec("^rename v([0-9]+) (\\S+)$", do))
ren <- ren[lengths(ren) == 3]
column <- setNames(as.integer(sapply(ren, `[`, 2)), sapply(ren, `[`, 3))
rep <- regmatches(do, regexec("^replace (\\S+) = \\.[a-z] if study_code == \"([^\"]+)\"$", do))
rep <- rep[lengths(rep) == 3]
for (r in rep) {
  v <- names(d)[column[[r[2]]]]
  if (!is.na(d[d$study_code == r[3], v])) {
    cat(sprintf("DIFFERS %s of %s: a declared missing code that is not NA\n", v, r[3]))
    bad <- bad + 1
  }
}
cb <- read.csv(file.path(dir, "data_codebook.csv"), stringsAsFactors = FALSE, na.strings = "")
codes <- unique(unlist(lapply(strsplit(sub("^'", "", na.omit(cb$missing_codes)), "; ", fixed = TRUE), function(x) sub("=.*", "", x))))
if (length(codes) == 0) stop("the codebook lists no declared missing code")
for (v in cb$column[cb$storage == "number"]) {
  if (any(as.character(d[[v]]) %in% codes)) {
    cat(sprintf("DIFFERS %s holds a declared missing code (%s)\n", v, paste(codes, collapse = ", ")))
    bad <- bad + 1
  }
}
cat(sprintf("%d contrasts, %d estimates checked against estimatr; %d declared missing cells are NA; %d differ\n",
            length(a$contrasts), checked, length(rep), bad))
if (bad > 0 || checked == 0) quit(status = 1)
