# Thin driver over CMake. `make demo` and `make test` install what they need
# from Debian's packages first (apt-get; sudo when not root).
SHELL := /bin/bash
JOBS  ?= $(shell nproc)
REL   := build
ASAN  := build-asan
TSAN  := build-tsan
FUZZ  := build-fuzz
FUZZ_SECONDS ?= 30
DEMO_OUT ?= out/demo
PREFIX   ?= /usr/local
DESTDIR  ?=
# What `make test` runs under ThreadSanitizer: the tests labelled "threads"
# in CMakeLists.txt, and the targets they need.
TSAN_TARGETS := sanbao test_batch test_gen test_compare
TEST_START := $(shell date +%s)

DEB_PACKAGES := build-essential cmake pkg-config libyaml-dev libcmocka-dev \
                libssl-dev clang libclang-rt-dev valgrind python3 \
                libmicrohttpd-dev libjansson-dev libsqlite3-dev sqlite3 curl \
                libopenmpi-dev openmpi-bin

LINT_PACKAGES := clang-tidy clang-format
# `sanbao report`: its browser test (Chromium, a CJK font for the labels);
# node and npm come from Debian when the machine has none.
REPORT_PACKAGES := chromium fonts-wqy-microhei

.PHONY: all deps lint-deps report-deps build build-asan build-tsan test demo install lint analyze \
        format-check fuzz bench bench-serve bench-scale clean soak

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' \
	    || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

lint-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(LINT_PACKAGES)"

# The report's npm packages (report/package-lock.json: echarts, which the
# page inlines, and puppeteer-core, which its test drives), with `npm ci`.
report-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(REPORT_PACKAGES)"
	@command -v npm >/dev/null || $(MAKE) --no-print-directory deps DEB_PACKAGES="nodejs npm"
	@[ report/node_modules/.sanbao-ci -nt report/package-lock.json ] || \
	  { cd report && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && \
	    touch node_modules/.sanbao-ci; }

build: deps
	cmake -S . -B $(REL) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSB_WERROR=ON -DSB_SANITIZE=OFF \
	  -DSB_TSAN=OFF -DSB_FUZZ=OFF >/dev/null
	cmake --build $(REL) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DSB_WERROR=ON -DSB_SANITIZE=ON \
	  -DSB_TSAN=OFF -DSB_FUZZ=OFF >/dev/null
	cmake --build $(ASAN) -j $(JOBS)

# ThreadSanitizer: only what the threaded tests need (no shared library).
build-tsan: deps
	cmake -S . -B $(TSAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSB_WERROR=ON -DSB_TSAN=ON \
	  -DSB_SANITIZE=OFF -DSB_FUZZ=OFF -DSB_SHARED=OFF >/dev/null
	cmake --build $(TSAN) -j $(JOBS) --target $(TSAN_TARGETS)

# Every test under ASan/UBSan, the CLI on the cases and the demo under
# valgrind, the threaded tests under ThreadSanitizer, then every test again
# on the release build.
test: build-asan build build-tsan report-deps
	cd $(ASAN) && ctest --output-on-failure -j $(JOBS)
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  $(REL)/sanbao test tests/cases >/dev/null
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  $(REL)/sanbao settle --policies policies/demo --persons data/demo/persons.csv \
	  --identities data/demo/identities.csv --claims data/demo/claims.csv \
	  --out $(REL)/valgrind-demo --monitor --quiet
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  $(REL)/sanbao code-texts --frame frames/poverty-governance.yaml --meta frames/texts-meta.csv \
	  --gold tests/fixtures/texts/gold.csv --out $(REL)/texts tests/fixtures/texts/*.txt
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  $(REL)/sanbao audit --policies tests/fixtures/audit/policies \
	  --persons tests/fixtures/audit/persons.csv --identities tests/fixtures/audit/identities.csv \
	  --claims tests/fixtures/audit/claims.csv --rules rules/default.yaml \
	  --out $(REL)/valgrind-audit --quiet
	valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	  $(REL)/sanbao fund --policies tests/fixtures/fund/policies \
	  --persons tests/fixtures/fund/persons.csv --identities tests/fixtures/fund/identities.csv \
	  --settlements tests/fixtures/fund/settlements.csv --balances tests/fixtures/fund/balances.csv \
	  --adjustment tests/fixtures/fund/adjustment.csv --out $(REL)/valgrind-fund > /dev/null
	@echo "valgrind: clean on tests/cases, the demo settlement, code-texts, audit and fund"
	cd $(TSAN) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
	  ctest --output-on-failure -j $(JOBS) -L threads
	cd $(REL) && ctest --output-on-failure -j $(JOBS)
	@echo "make test: passed (ASan/UBSan, valgrind, ThreadSanitizer, release) in" \
	  "$$(( $$(date +%s) - $(TEST_START) )) s, builds included"

# The service's crash test at length: 100 SIGKILLs under load (release build).
soak: build
	SB_SERVE_KILLS=100 SB_SERVE_CRASH_PERSONS=12000 bash tests/e2e/serve_crash.sh \
	  $(REL)/sanbao $(CURDIR)

# Installs the program, libsanbao.a and .so, include/sanbao/*.h, the
# pkg-config file libsanbao.pc and the demo policies under PREFIX (staged
# under DESTDIR when given).
install: build
	cmake -S . -B $(REL) -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	cmake --build $(REL) -j $(JOBS)
	DESTDIR=$(DESTDIR) cmake --install $(REL)

# clang-tidy with .clang-tidy's checks on src/: fails on any finding.
lint: lint-deps build
	@set -o pipefail; clang-tidy -p $(REL) --quiet src/*/*.c 2>&1 \
	  | { grep -v ' warnings\? generated\.$$' || true; }
	@echo "lint: clang-tidy clean on src/"

# The checks .clang-tidy leaves out and the static analyzer, as a report
# for triage (does not fail).
analyze: lint-deps build
	-clang-tidy -p $(REL) --quiet --warnings-as-errors='-*' \
	  --checks='-*,bugprone-*,-bugprone-easily-swappable-parameters,cert-*,-cert-err33-c,clang-analyzer-*,-clang-analyzer-security.insecureAPI.*,-clang-analyzer-optin.performance.Padding' \
	  src/*/*.c 2>/dev/null | grep -E '(warning|error):'

# How far each file is from .clang-format (lines it would change); no file
# is rewritten.
format-check: lint-deps
	@for f in src/*/*.[ch] include/sanbao/*.h; do \
	  n=$$(clang-format "$$f" | diff "$$f" - | grep -c '^>'); \
	  [ "$$n" = 0 ] || echo "$$n $$f"; done | sort -rn

# The demo province's sample claims through the whole chain, with the
# early-warning monitor; outputs in $(DEMO_OUT); the bundled reforms
# (policies/reforms/) compared with it in one pass ($(DEMO_OUT)/reforms); the
# roster checked against the demo's enrolment and settlements
# ($(DEMO_OUT)/roster); the fund accounts, the adjustment fund and the
# indicators over the settlements ($(DEMO_OUT)/fund); the eight policy texts
# of tests/fixtures/texts coded ($(DEMO_OUT)/texts); the audit of the planted
# fixture tests/fixtures/audit ($(DEMO_OUT)/audit); a generated province's
# funds projected ($(DEMO_OUT)/projection); the HTML report of all of them.
demo: build report-deps
	$(REL)/sanbao settle --policies policies/demo --persons data/demo/persons.csv \
	  --identities data/demo/identities.csv --claims data/demo/claims.csv \
	  --out $(DEMO_OUT) --monitor --poverty-line 2300
	$(REL)/sanbao fund --policies policies/demo --persons data/demo/persons.csv \
	  --identities data/demo/identities.csv --settlements $(DEMO_OUT)/settlements.csv \
	  --balances data/demo/balances.csv --warnings $(DEMO_OUT)/warnings.csv --out $(DEMO_OUT)/fund
	$(REL)/sanbao compare --baseline policies/demo --reform policies/reforms/unify \
	  --reform policies/reforms/one-tier --reform policies/reforms/tilt \
	  --persons data/demo/persons.csv --identities data/demo/identities.csv \
	  --claims data/demo/claims.csv --out $(DEMO_OUT)/reforms --poverty-line 2300 \
	  --explain S20230013
	$(REL)/sanbao roster --policies policies/demo --persons data/demo/persons.csv \
	  --identities data/demo/identities.csv --settlements $(DEMO_OUT)/settlements.csv \
	  --out $(DEMO_OUT)/roster
	$(REL)/sanbao code-texts --frame frames/poverty-governance.yaml --meta frames/texts-meta.csv \
	  --out $(DEMO_OUT)/texts tests/fixtures/texts/*.txt
	$(REL)/sanbao audit --policies tests/fixtures/audit/policies \
	  --persons tests/fixtures/audit/persons.csv --identities tests/fixtures/audit/identities.csv \
	  --claims tests/fixtures/audit/claims.csv --rules rules/default.yaml --out $(DEMO_OUT)/audit
	$(REL)/sanbao gen --persons 20000 --seed 11 --out $(DEMO_OUT)/province >/dev/null
	$(REL)/sanbao settle --policies $(DEMO_OUT)/province/policies --persons $(DEMO_OUT)/province/persons.csv \
	  --identities $(DEMO_OUT)/province/identities.csv --claims $(DEMO_OUT)/province/claims.csv \
	  --out $(DEMO_OUT)/province/settled --quiet
	$(REL)/sanbao project --policies $(DEMO_OUT)/province/policies --persons $(DEMO_OUT)/province/persons.csv \
	  --settlements $(DEMO_OUT)/province/settled/settlements.csv $(foreach s,baseline growth-gap \
	  delayed-retirement no-delay,--scenario scenarios/projection/$(s).yaml) --runs 1000 --seed 2024 \
	  --out $(DEMO_OUT)/projection
	$(REL)/sanbao report --in $(DEMO_OUT)/reforms --in $(DEMO_OUT) --in $(DEMO_OUT)/fund \
	  --in $(DEMO_OUT)/roster --in $(DEMO_OUT)/texts --in $(DEMO_OUT)/audit --in $(DEMO_OUT)/projection \
	  --out $(DEMO_OUT)/report.html

fuzz: deps
	CC=clang cmake -S . -B $(FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSB_FUZZ=ON -DSB_TESTS=OFF >/dev/null
	cmake --build $(FUZZ) -j $(JOBS)
	@for f in $(FUZZ)/fuzz_*; do \
	  name=$$(basename $$f); mkdir -p $(FUZZ)/corpus/$$name; \
	  echo "== $$name for $(FUZZ_SECONDS)s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    $(FUZZ)/corpus/$$name fuzz/seeds/$$name 2>&1 | tail -n 3 || exit 1; \
	done

BENCH_PERSONS ?= 2000000
BENCH_SEED    ?= 1

# The benchmark (not a test): sanbao against the I/O floor, DuckDB and pandas
# on a generated province, payments checked claim by claim; see bench/README.md.
bench: build
	bash bench/run.sh --persons $(BENCH_PERSONS) --seed $(BENCH_SEED)
	bash bench/serve/run.sh

# How settle scales, 1M to 8M persons: time per claim and bytes per person
# (bench/scale.sh; several minutes and about 4 GB of temporary files).
bench-scale: build
	bash bench/scale.sh

# The service alone: pre-settlement and durable settlement under load.
bench-serve: build
	bash bench/serve/run.sh

clean:
	rm -rf $(REL) $(ASAN) $(TSAN) $(FUZZ) out
