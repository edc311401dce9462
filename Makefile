# Two entry points: `make run` builds feeds/ from the bundled examples, `make test` runs every check.
# Both create .venv and install what they need from pyproject.toml; nothing is installed by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
MUTATION_STAMP := $(VENV)/.installed-mutation

.PHONY: run test bench bench-publish robustness hexo-compare mutants lint typecheck unit system-deps clean

run: $(RUN_STAMP)
	$(BIN)/refeed build --config config.yaml -v

test: system-deps $(TEST_STAMP) lint typecheck unit

# Debian's nginx, chromium (with a CJK font, for pages in Chinese) and newsboat, for the tests
# that serve deploy/nginx.conf, open the feeds and pages in a real browser and subscribe with a
# real reader. Installed where apt-get can run as root. In CI (CI=true) they are required: if
# they cannot be installed, make test fails here, and a test that would skip fails too.
# Elsewhere this is best effort and those tests say why they skipped.
SYSTEM_PACKAGES ?= nginx chromium newsboat
SYSTEM_FONT ?= /usr/share/fonts/truetype/wqy/wqy-microhei.ttc

system-deps:
	@missing=""; \
	for tool in $(SYSTEM_PACKAGES); do \
	  command -v $$tool >/dev/null 2>&1 || [ -x /usr/sbin/$$tool ] || missing="$$missing $$tool"; \
	done; \
	[ -e "$(SYSTEM_FONT)" ] || missing="$$missing fonts-wqy-microhei"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing for the deploy and browser tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	      || { echo "could not install$$missing"; [ "$$CI" != true ] || exit 1; \
	           echo "those tests will be skipped"; }; \
	  elif [ "$$CI" = true ]; then echo "not installed:$$missing (required in CI: run as root with apt-get)"; exit 1; \
	  else echo "not installed:$$missing; those tests will be skipped"; fi; fi

# Per-body cleaning cost of each sanitizer engine, then whole-process timings of `refeed build`
# on generated corpora with each engine; see bench/README.md. The large sizes, on request:
# make bench BENCH_SIZES="100000 1000000" BENCH_RUNS=1 BENCH_ENGINES=nh3
BENCH_SIZES ?= 1000 10000
BENCH_RUNS ?= 5
BENCH_ENGINES ?= bleach nh3
BENCH_SCENARIOS ?= cold noop edit add delete config watch
bench: $(RUN_STAMP)
	$(BIN)/python bench/clean_cost.py
	$(BIN)/python bench/run.py --sizes $(BENCH_SIZES) --runs $(BENCH_RUNS) \
	  --engines $(BENCH_ENGINES) --scenarios $(BENCH_SCENARIOS)

# Publishing the 10,000-article corpus's feeds to a local S3 API server (moto, from the test extra).
bench-publish: $(TEST_STAMP)
	$(BIN)/python bench/publish.py --size 10000 --runs 3

# The hostile-input, crash and resource-limit suite alone, with its summary of figures.
robustness: $(TEST_STAMP)
	$(BIN)/pytest -m robustness

# Optional: the Hexo fixture site built by real Hexo (installed from the npm registry) and by
# refeed, compared item by item. Needs node and npm; not part of make test.
hexo-compare: $(TEST_STAMP)
	$(BIN)/pytest -m hexo -s tests/test_hexo_compat.py

# Mutation testing (mutmut, [tool.mutmut] in pyproject.toml): net, write, state and slugs, each
# mutant judged by its own module's tests. Slow (about 25 minutes on two cores); lists survivors.
mutants: $(MUTATION_STAMP)
	$(BIN)/mutmut run --max-children 2
	$(BIN)/mutmut results

lint: $(TEST_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(TEST_STAMP)
	$(BIN)/mypy

unit: $(TEST_STAMP)
	$(BIN)/pytest

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(RUN_STAMP)

$(MUTATION_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,mutation]'
	touch $@ $(TEST_STAMP) $(RUN_STAMP)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis mutants
	find feeds -mindepth 1 ! -name README.md -delete
