# Regenerates testdata/reference/string_similarity.csv: Jaro, Jaro-Winkler
# (prefix scale 0.1, prefix of at most 4, the boost always applied),
# Levenshtein and optimal-string-alignment distances from R's stringdist,
# for the name pairs in the file's first two columns (the inputs, kept).
# The similarities are rounded to six decimals.
#
# Run from the repository root:
#   Rscript testdata/reference/make_strings.R
# Debian: apt-get install r-base-core r-cran-stringdist
# Made with R 4.2.2 and stringdist 0.9.10.
suppressMessages(library(stringdist))
path <- file.path("testdata", "reference", "string_similarity.csv")
d <- read.csv(path, colClasses = "character")[, c("a", "b")]
d$jaro <- round(1 - stringdist(d$a, d$b, method = "jw", p = 0), 6)
d$jaro_winkler_p01 <- round(1 - stringdist(d$a, d$b, method = "jw", p = 0.1, bt = 0), 6)
d$levenshtein <- stringdist(d$a, d$b, method = "lv")
d$osa <- stringdist(d$a, d$b, method = "osa")
write.csv(d, path, row.names = FALSE)
cat("wrote", path, "with stringdist", as.character(packageVersion("stringdist")), "\n")
