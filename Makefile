# The two commands of the README: `make demo` (set up, then one application through the SOP)
# and `make test` (every check and test). Everything installs through this file.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# aws-sam-cli pins an older boto3 and pydantic: it lives in a venv of its own, not in .venv.
SAM_VERSION := 1.170.0
SAM_VENV := .tools/sam
SAM := $(SAM_VENV)/bin/sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_VERSION)
RUNTIME_BOTO3 := .tools/runtime-boto3
# checkov pins boto3 1.35 and packaging<24 (which breaks pytest 9): a venv of its own too.
CHECKOV_VENV := .tools/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed
# The functions' runtime (python3.12) must be on PATH for `sam build`; pyenv holds it here.
SAM_ENV := PYENV_VERSION=3.11.7:3.12.1:3.13.0 AWS_ACCESS_KEY_ID=testing \
	AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=ap-southeast-3 \
	AWS_EC2_METADATA_DISABLED=true SAM_CLI_TELEMETRY=0

.PHONY: demo test lint pytest serve bench hypothesis-long coverage setup system-packages checkov deploy-check python312 clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --quiet --upgrade pip
	$(BIN)/pip install --quiet --quiet -c constraints.txt -e '.[dev]'
	@# The tests' bytecode (pytest's rewrite of each test module) and what they import,
	@# compiled once here, as pip compiles what it installs: else each of the suite's three
	@# workers compiles them all again at its first collection (3.4 s of a core apiece).
	@# A test that does not collect is `make test`'s to report, not the setup's.
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest --collect-only -q -p no:cacheprovider \
		>/dev/null || true
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/izin demo

serve: $(STAMP)
	$(BIN)/izin local serve

bench: $(STAMP)
	$(BIN)/izin bench --applications 10

# The property-based suites with many more cases, drawn at random: a hunt, not CI's gate.
hypothesis-long: $(STAMP)
	IZIN_HYPOTHESIS=long $(BIN)/pytest -m property -p no:cacheprovider --timeout 0

# Debian's packages the tests use: chromium for the browser tests (a browser download fails
# on these machines), poppler-utils to render the documents' PDFs. Installed when missing.
system-packages:
	@test -x /usr/bin/chromium -a -x /usr/bin/pdftoppm || \
	(apt-get update -qq && apt-get install -y -qq chromium poppler-utils >/dev/null)

# Every linter runs, even after one fails, so one run shows every finding.
# mypy checks each functions/<name>/app.py as `functions.<name>.app` (pyproject.toml).
LINTERS := "$(BIN)/ruff check ." "$(BIN)/ruff format --check ." "$(BIN)/mypy" \
	"$(BIN)/cfn-lint template.yaml"

lint: $(STAMP)
	@status=0; for linter in $(LINTERS); do echo "$$linter"; $$linter || status=1; done; \
	exit $$status

# pytest exits 5 when it collects nothing: any non-zero exit fails the target.
# Three workers on two cores, a group of tests each at a time (a module, or the modules that
# share one local runtime: tests/conftest.py): an application under the local runtime waits
# on its hops (SQS, Step Functions, a worker's answer) for part of its run, so a third
# worker fills cores two leave idle; a fourth idles them less but spends more CPU, for the
# same wall time (2026-12-04, this 2-core machine, back to back: 1373 tests in 219 s with
# three workers, 216 s with four).
# The 15 slowest tests are listed at the end: where the suite's time goes (#9).
# Bytecode is written whatever the shell says (PYTHONDONTWRITEBYTECODE): else each worker,
# and each command a test runs, compiles the tests (rewritten by pytest) and the local
# runtime from source again, 3.5 s of a core per worker just to collect.
pytest: $(STAMP) system-packages
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -n 3 --dist loadgroup --no-loadscope-reorder \
		--durations=15

# The unit tests of the workflow's core (tasks, events, tickets, progress, pages) under
# coverage: a module below 90% of its own lines fails (#10), each tasks/ module on its own
# too (scripts/coverage_gate.py; a total would let a well-covered module hide a poor one).
# Not part of `make test`: a measure to read, in seconds, not another gate on CI's run.
COVERAGE_TESTS := $(addprefix tests/unit/test_,workflow_logic.py workflow_edges.py \
	progress.py pages.py task_page.py evidence.py sla.py tte.py tte_manual.py)
CORE := layers/izin/izin
COVERAGE_MODULES := $(sort $(wildcard $(CORE)/tasks/*.py)) \
	$(addprefix $(CORE)/,events.py tickets.py progress.py pages.py)
COVERAGE_FLOOR := 90
comma := ,
empty :=
COVERAGE_INCLUDE := $(subst $(empty) $(empty),$(comma),$(strip $(COVERAGE_MODULES)))

coverage: $(STAMP)
	$(BIN)/coverage run --data-file=.coverage -m pytest -p no:cacheprovider -q $(COVERAGE_TESTS)
	$(BIN)/coverage report --data-file=.coverage --show-missing \
		--include='$(COVERAGE_INCLUDE)'
	$(BIN)/coverage json --data-file=.coverage -o .coverage.json --quiet \
		--include='$(COVERAGE_INCLUDE)'
	$(BIN)/python scripts/coverage_gate.py .coverage.json --fail-under $(COVERAGE_FLOOR) \
		$(COVERAGE_MODULES)

# Lint and tests both run, whatever the other's outcome; either failing fails the target.
test: $(STAMP)
	@status=0; $(MAKE) --no-print-directory lint || status=1; \
	$(MAKE) --no-print-directory pytest || status=1; exit $$status

# As far as this machine can deploy: the SAM transform and linter, then the build of the
# layer (with its requirements.txt) and of every function for the python3.12 runtime.
$(SAM_STAMP):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet --quiet aws-sam-cli==$(SAM_VERSION)
	touch $(SAM_STAMP)

# boto3 as the Lambda runtime provides it, for importing the built handlers under python3.12.
$(RUNTIME_BOTO3)/.installed: constraints.txt | python312
	$(SAM_ENV) python3.12 -m pip install --quiet --quiet --target $(RUNTIME_BOTO3) -c constraints.txt boto3
	touch $@

python312:
	@$(SAM_ENV) python3.12 --version >/dev/null 2>&1 || { \
		echo "deploy-check: python3.12 is not on PATH (pyenv 3.12.1 expected): sam build needs the functions' runtime" >&2; \
		exit 1; }

$(CHECKOV_STAMP): constraints-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet --quiet -c constraints-checkov.txt checkov
	touch $(CHECKOV_STAMP)

# checkov on the template: every finding is fixed, or skipped in the template's Metadata
# with a one-line reason (checkov lists the skips with their reasons). --skip-download: no
# call to Prisma Cloud for its guidelines (there is no internet here, nor need of it).
checkov: $(CHECKOV_STAMP)
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download

deploy-check: $(SAM_STAMP) $(RUNTIME_BOTO3)/.installed python312 checkov
	$(SAM_ENV) $(SAM) validate --lint
	$(SAM_ENV) $(SAM) build --parallel
	@# Bytecode that holds in the zip: a .pyc checked by its source's date is stale there
	@# (all dated 1980) and every cold start compiled the layer again, ~0.6 s of CPU.
	$(SAM_ENV) python3.12 -m compileall -q -f --invalidation-mode checked-hash .aws-sam/build
	@# The templates' code too (izin.template_cache): else each cold start compiles its own.
	$(SAM_ENV) PYTHONPATH=$(RUNTIME_BOTO3) python3.12 -s scripts/compile_templates.py \
		.aws-sam/build/IzinLayer/python
	$(SAM_ENV) $(SAM_VENV)/bin/python scripts/check_build.py .aws-sam/build --boto3 $(RUNTIME_BOTO3)

clean:
	rm -rf $(VENV) .tools .local .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage \
		.coverage.json
