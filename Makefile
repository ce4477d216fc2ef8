# rct — make targets. `make demo` runs the demo, `make test` the tests.
GO      ?= go
BIN     := bin/rct
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
DEMO    := demo

.PHONY: build test demo bench bench-compare fuzz clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/rct

# gofmt and go vet clean, then every test (the kill -9 and sqlite3-shell tests included).
test:
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test ./...

# The demo: a simulated MISSION-like trial through the commands that exist.
demo: build
	rm -rf $(DEMO)
	$(BIN) simulate --families 140 --seed 1 -o $(DEMO)
	cd $(DEMO) && ../$(BIN) protocol check trial.yaml
	cd $(DEMO) && ../$(BIN) init --protocol trial.yaml
	cd $(DEMO) && ../$(BIN) enroll referrals.xlsx
	cd $(DEMO) && ../$(BIN) randomize simulate --method all --reps 2000
	cd $(DEMO) && ../$(BIN) randomize --pending --key trial.key > allocations.tsv
	cd $(DEMO) && ../$(BIN) randomize check
	cd $(DEMO) && ../$(BIN) audit verify --key trial.key
	cd $(DEMO) && ../$(BIN) balance --draws 2000
	cd $(DEMO) && ../$(BIN) power --simulate --n 112 --delta 150 --sd 300 --attrition 0.2
	cd $(DEMO) && ../$(BIN) status
	cd $(DEMO) && ../$(BIN) codebook example > codebook.yaml
	cd $(DEMO) && ../$(BIN) codebook install codebook.yaml
	cd $(DEMO) && ../$(BIN) survey template --wave m0 -o m0.xlsx --force
	cd $(DEMO) && ../$(BIN) survey status
	@echo "Demo trial in $(DEMO)/: trial.db (open it with sqlite3), trial.key, trial.pseudo.key, allocations.tsv, m0.xlsx (interviewers' template)."

# The figures of BENCHMARKS.md.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

# OLS + HC2 on n = 1,000,000, k = 12 here and in R estimatr, side by side (R when installed).
bench-compare:
	$(GO) test -run '^$$' -bench 'OLS/n=1000000' -benchtime 3x ./analysis/
	@if command -v Rscript >/dev/null 2>&1; then Rscript bench/estimatr_ols.R; else echo "Rscript not found: apt-get install r-base-core r-cran-estimatr"; fi

# A short run of every fuzz target (go test -fuzz takes one at a time).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseNumber -fuzztime 30s ./linkage/ident
	$(GO) test -run '^$$' -fuzz FuzzParseDate -fuzztime 30s ./internal/sheet
	$(GO) test -run '^$$' -fuzz FuzzScanner -fuzztime 30s ./internal/sheet
	$(GO) test -run '^$$' -fuzz FuzzReaderMatchesExcelize -fuzztime 30s ./internal/sheet
	$(GO) test -run '^$$' -fuzz FuzzParseProtocol -fuzztime 30s ./trial
	$(GO) test -run '^$$' -fuzz FuzzParseCodebook -fuzztime 30s ./survey
	$(GO) test -run '^$$' -fuzz FuzzParseCell -fuzztime 30s ./survey
	$(GO) test -run '^$$' -fuzz FuzzParseExpr -fuzztime 30s ./survey

clean:
	rm -rf bin $(DEMO)
