# Randomization inference as an analyst would write it in vectorized R, on
# the data rct data export wrote: D re-randomizations of z within each
# stratum cell (complete randomization within strata, as ri2's
# declare_ra(blocks = ...)), every outcome's difference in means among its
# respondents from one matrix product per chunk of draws, two-sided p.
# Prints the seconds of the inference alone (reading the CSV excluded).
#   Rscript bench/ri.R data.csv D outcome1,outcome2,...
args <- commandArgs(TRUE)
d <- read.csv(args[1])
D <- as.integer(args[2])
cols <- strsplit(args[3], ",")[[1]]
set.seed(1)
t0 <- proc.time()[["elapsed"]]
n <- nrow(d)
z <- d$z
strata <- split(seq_len(n), d$stratum_cell)
Y <- as.matrix(d[, cols, drop = FALSE])
obs <- sapply(cols, function(j) { r <- !is.na(Y[, j]); mean(Y[r & z == 1, j]) - mean(Y[r & z == 0, j]) })
extreme <- setNames(numeric(length(cols)), cols)
chunk <- 500
for (start in seq(1, D, by = chunk)) {
  m <- min(chunk, D - start + 1)
  Z <- matrix(0, n, m)
  for (idx in strata) Z[idx, ] <- replicate(m, sample(z[idx]))
  for (j in cols) {
    r <- !is.na(Y[, j])
    y <- Y[r, j]; Zr <- Z[r, , drop = FALSE]
    n1 <- colSums(Zr); s1 <- drop(crossprod(y, Zr))
    diff <- s1 / n1 - (sum(y) - s1) / (length(y) - n1)
    extreme[j] <- extreme[j] + sum(abs(diff) >= abs(obs[j]) - 1e-12)
  }
}
p <- (extreme + 1) / (D + 1)
cat(sprintf("ri %.3f s\n", proc.time()[["elapsed"]] - t0))
