# The README's two commands: `make run` and `make test`. Everything lives in .venv and var/.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# `catalogs` and `catalog TAG=xx` rewrite the .po files; `compiled-catalogs` only builds .mo.
.PHONY: run test lint catalogs catalog compiled-catalogs faults bench venv kafka-start kafka-stop kafka-status cluster-start \
	cluster-stop cluster-status mailcatcher worker clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

kafka-start: $(STAMP)
	$(PY) -m devstack.kafka start

kafka-stop:
	$(PY) -m devstack.kafka stop

kafka-status:
	$(PY) -m devstack.kafka status

## cluster-start: three KRaft nodes on 127.0.0.1:19092-19094 (controllers 19192-19194), state in
## var/cluster/, replication factor 3 and min.insync.replicas=2; status prints the hub's settings.
cluster-start: $(STAMP)
	$(PY) -m devstack.kafka --cluster start --timeout 180

cluster-stop:
	$(PY) -m devstack.kafka --cluster stop

cluster-status:
	$(PY) -m devstack.kafka --cluster status

## catalogs: extract every translatable string of the templates and the code into
## templates/_locale/<part>.pot, merge them into each language's .po (new strings empty, to
## translate), and compile the .mo files the hub reads. A new language: `make catalog TAG=pt`.
catalogs: $(STAMP)
	$(PY) -m devstack.catalogs extract
	$(PY) -m devstack.catalogs compile

# TAG, not LANG: LANG is the shell's locale (C.UTF-8), never a language to add.
catalog: $(STAMP)
	@test -n "$(TAG)" || { echo "make catalog TAG=pt: the language to add"; exit 2; }
	$(PY) -m devstack.catalogs init $(TAG)

compiled-catalogs: $(STAMP)
	$(PY) -m devstack.catalogs compile

## run: Kafka, the mail catcher and a worker with its HTTP API, in the foreground (Ctrl-C stops).
run: compiled-catalogs
	$(PY) -m devstack.run

# The browser test drives Debian's Chromium; test tools cannot download browsers here.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The metrics tests run Debian's Prometheus (a real scrape) and its promtool (config, rules and
# their unit tests, deploy/prometheus/); the tests start their own, so the package's service is
# stopped wherever systemd started it.
PROMETHEUS := /usr/bin/prometheus
$(PROMETHEUS):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
	-command -v systemctl >/dev/null 2>&1 && systemctl disable --now prometheus >/dev/null 2>&1

## test: the static checks, then the whole suite against the real broker (started if it is not running);
## the cluster fault test starts the three-node cluster itself if it is not running, and stops it after.
## TEST_PROCESSES: how many pytest processes share the suite (pytest-xdist), a test file each at a
## time; 0 runs it in this process.
TEST_PROCESSES ?= 2
test: lint compiled-catalogs $(CHROMIUM) $(PROMETHEUS) kafka-start
	$(PY) -m pytest -n $(TEST_PROCESSES) --dist loadfile

## lint: the static checks alone, the first step of make test; lint-imports holds the layering
## of pyproject.toml's [tool.importlinter] (only hub.runtime imports faust, and so on).
lint: $(STAMP)
	$(VENV)/bin/ruff check hub channels devstack tests bench
	$(VENV)/bin/ruff format --check hub channels devstack tests bench
	$(VENV)/bin/mypy hub channels devstack
	$(VENV)/bin/lint-imports

## faults: the long crash test (22 kills in one fan-out) and every other fault test.
faults: $(STAMP) kafka-start
	HUB_TEST_LONG_KILLS=1 $(PY) -m pytest tests/test_faults.py tests/test_faults_delivery.py tests/test_faults_redrive.py tests/test_broker_restart.py

# smtp-sink and smtp-source (the benchmarks' SMTP references) come with Debian's postfix; its
# mail daemon is neither configured nor started.
SMTP_SINK := /usr/sbin/smtp-sink
$(SMTP_SINK):
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix

## bench: the benchmarks of bench/ (S1 fan-out, S4 Kafka path, memory, S5 latency, S6/S7 Telegram),
## each writing bench/results/<name>.json, then one table of every target; BENCH_RECIPIENTS scales
## them down (default 100,000). Not part of `make test`.
bench: $(STAMP) $(SMTP_SINK) kafka-start
	$(PY) bench/render_once.py
	$(PY) -m bench.fanout
	$(PY) -m bench.latency
	$(PY) -m bench.telegram
	$(PY) -m bench.summary

clean:
	rm -rf var/faust var/outbox var/test
