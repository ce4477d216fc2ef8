# Regenerates the columns valid, century and kind of
# testdata/reference/rrn.csv from its number and note columns (the inputs,
# kept), by the Belgian national register's published rule, written here
# independently of rct's Go code:
#   - 11 digits once the separators (. - space) are removed;
#   - check digits = 97 - (first nine digits mod 97); for people born in 2000
#     or later, "2" is put before the nine digits first (the century);
#   - BIS numbers add 20 (sex unknown) or 40 (sex known) to the birth month.
#
# Run from the repository root:
#   Rscript testdata/reference/make_rrn.R
# Debian: apt-get install r-base-core
path <- file.path("testdata", "reference", "rrn.csv")
d <- read.csv(path, colClasses = "character")
check <- function(s) {
  s <- gsub("[-. ]", "", s)
  if (!grepl("^[0-9]{11}$", s)) return(list(valid = "false", century = "", kind = ""))
  nine <- substr(s, 1, 9); cd <- as.numeric(substr(s, 10, 11))
  month <- as.numeric(substr(s, 3, 4))
  kind <- if (month >= 20) "bis" else "rrn"
  for (century in c(1900, 2000)) {
    x <- as.numeric(if (century == 2000) paste0("2", nine) else nine)
    if (97 - x %% 97 == cd) return(list(valid = "true", century = as.character(century), kind = kind))
  }
  list(valid = "false", century = "", kind = "")
}
for (i in seq_len(nrow(d))) {
  r <- check(d$number[i])
  d$valid[i] <- r$valid; d$century[i] <- r$century; d$kind[i] <- r$kind
}
write.csv(d, path, row.names = FALSE, quote = FALSE, na = "")
cat("wrote", path, "\n")
