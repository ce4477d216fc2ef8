# rct — make targets. `make demo` runs the demo, `make test` the tests.
GO      ?= go
BIN     := bin/rct
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
DEMO    ?= demo
ARMS    ?= 2
FAMILIES ?= 112

.PHONY: build test demo serve-demo bench bench-compare fuzz clean

# Without cgo: rct needs none (SQLite is modernc's Go), and a statically
# linked binary starts 5 ms sooner (40 against 45 ms for rct status on the
# demo's trial; BENCHMARKS.md), which the demo's 45 processes add up.
build:
	CGO_ENABLED=0 $(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/rct

# gofmt and go vet clean, go.mod tidy, then every test (the kill -9 and
# sqlite3-shell tests included).
test:
	@unformatted="$$(gofmt -l .)"; if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	@$(GO) mod tidy -diff > /dev/null || { echo "go.mod/go.sum are not tidy: run go mod tidy"; $(GO) mod tidy -diff; exit 1; }
	$(GO) vet ./...
	$(GO) test ./...

# The demo: a simulated MISSION-like trial of 112 families through every
# command, as a research team would run it over three years. RCT_NOW sets
# the day of each step: families are enrolled and randomized on the day each
# month's referral list arrives, the follow-up happens at the end of 2019.
# `make demo ARMS=3 DEMO=demo3` runs a three-arm trial (intervention, phone
# guidance, control; 2:1:1) the same way.
RCT      := ../$(BIN)
FOLLOWUP := 2019-12-31T17:00:00Z
ifeq ($(ARMS),2)
COLS := 1-3,8,11-14
else
COLS := 1-4,9,12-15
endif
demo: build
	rm -rf $(DEMO)
	$(BIN) simulate --families $(FAMILIES) --seed 1 --arms $(ARMS) -o $(DEMO) > /dev/null
	cd $(DEMO) && $(RCT) protocol check trial.yaml
	cd $(DEMO) && $(RCT) init --protocol trial.yaml
	cd $(DEMO) && $(RCT) codebook install codebook.yaml
	@echo "== enrolment and randomization, month by month (log: $(DEMO)/enrolment.log)"
	cd $(DEMO) && for f in referrals/*.xlsx; do d=$$(basename $$f .xlsx); \
		RCT_NOW=$${d}T17:00:00Z $(RCT) enroll $$f --randomize --key trial.key >> enrolment.log 2>&1 || exit 1; done
	cd $(DEMO) && $(RCT) status
	cd $(DEMO) && $(RCT) randomize check
	@echo "== the world after randomization: interviews, activity log, register extracts, truth"
	cd $(DEMO) && RCT_NOW=$(FOLLOWUP) $(RCT) simulate fieldwork --key trial.key -o .
	@echo "== survey imports: the interviewers' first workbooks are refused (exit 3), the corrected ones imported"
	cd $(DEMO) && for w in m0 m6 m12; do \
		RCT_NOW=$(FOLLOWUP) $(RCT) survey import --wave $$w $$w-interviews.xlsx --report $$w-import-report.csv > /dev/null 2>&1; \
		test $$? -eq 3 || exit 1; echo "$$w-interviews.xlsx refused: $$(grep -c ',error,' $$w-import-report.csv) errors, see $$w-import-report.csv"; \
		RCT_NOW=$(FOLLOWUP) $(RCT) survey import --wave $$w $$w-interviews-corrected.xlsx > /dev/null || exit 1; done
	cd $(DEMO) && RCT_NOW=$(FOLLOWUP) $(RCT) survey status
	cd $(DEMO) && RCT_NOW=$(FOLLOWUP) $(RCT) caselog import --key trial.key caselog.xlsx > /dev/null
	@echo "== register linkage and outcomes"
	cd $(DEMO) && RCT_NOW=$(FOLLOWUP) $(RCT) link import --register ocmw ocmw.csv
	cd $(DEMO) && RCT_NOW=$(FOLLOWUP) $(RCT) link import --register vdab vdab.csv > /dev/null
	cd $(DEMO) && RCT_NOW=$(FOLLOWUP) $(RCT) outcomes derive
	@echo "== blinded analysis"
	cd $(DEMO) && RCT_NOW=$(FOLLOWUP) $(RCT) analyze --draws 2000 > analysis-blinded.tsv
	cd $(DEMO) && cut -f$(COLS) analysis-blinded.tsv
	@echo "== reports: blinded for the team, unblinded with the key (recorded in the audit chain)"
	cd $(DEMO) && RCT_NOW=$(FOLLOWUP) $(RCT) report -o report-blinded.html --draws 2000 --xlsx tables-blinded.xlsx
	cd $(DEMO) && RCT_NOW=$(FOLLOWUP) $(RCT) analyze --key trial.key --draws 2000 2> /dev/null | cut -f$(COLS) | grep -E '^(contrast|outcome)|supp_aid_6m|empl_prog_12m'
	cd $(DEMO) && RCT_NOW=$(FOLLOWUP) $(RCT) report -o report.html --key trial.key --draws 2000 --figures figures
	@echo "== the truth the analysis should find (truth.json: each arm minus control)"
	cd $(DEMO) && grep -E '"(outcome|contrast|effect)"' truth.json | head -$$(( $(ARMS) == 2 ? 4 : 12 ))
	@echo "Demo trial in $(DEMO)/: trial.db (open it with sqlite3), trial.key, the files the team brought."
	@echo "Report: $(DEMO)/report.html"

# rct serve on the demo trial (make demo first when there is none), with
# the key, on http://127.0.0.1:8080: one account per role, the passwords
# printed (new ones each time); the interviewer visits every family.
SERVE_ADDR ?= 127.0.0.1:8080
serve-demo: build
	@test -f $(DEMO)/trial.db || $(MAKE) demo
	@cd $(DEMO) && for role in researcher randomizer interviewer case_manager analyst; do \
		name=$$(echo $$role | tr _ -); pw=$$(head -c 15 /dev/urandom | base64 | tr -d '/+='); \
		if $(RCT) user list | cut -f1 | grep -qx "$$name"; then echo "$$pw" | $(RCT) user passwd $$name --password-stdin > /dev/null 2>&1; \
		else echo "$$pw" | $(RCT) user add $$name --role $$role --password-stdin > /dev/null 2>&1; fi; \
		echo "account $$name ($$role), password $$pw"; done
	@cd $(DEMO) && $(RCT) user assign interviewer --families $$($(RCT) allocation export --json | grep -o '"K-[0-9]*"' | tr -d '"' | paste -sd, -) 2>&1
	cd $(DEMO) && $(RCT) serve --key trial.key --addr $(SERVE_ADDR)

# The figures of BENCHMARKS.md.
bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

# OLS + HC2 on n = 1,000,000, k = 12 here and in R estimatr, side by side (R when installed).
bench-compare:
	sh bench/compare.sh

# A short run of every fuzz target, found by name (go test -fuzz takes one
# at a time): FUZZTIME each.
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for t in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

clean:
	rm -rf bin $(DEMO)
