# Two commands do everything on a fresh machine with Python 3.11+:
#   make demo   sets up .venv and runs the whole mission on synthetic data
#   make test   sets up .venv and runs lint, types and the test suite (SQLite + PostgreSQL,
#               real SIP peers: baresip and SIPp, and headless Chromium for the dashboard's
#               browser test, installed with apt-get when missing)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint install postgres sip-peers browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/outbound demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# PostgreSQL is started when it is installed but down; the suite then fails (not skips)
# if it still cannot reach it.
postgres:
	@if command -v pg_lsclusters >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
		echo "starting PostgreSQL"; \
		pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start; \
		for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi

# The SIP adapter's tests drive real peers: baresip (our call leg) and SIPp (the called
# parties). They are installed when missing; apt-get update runs only if the package lists
# do not know them yet. Without them the SIP tests fail under CI=true.
sip-peers:
	@if ! command -v baresip >/dev/null 2>&1 || ! command -v sipp >/dev/null 2>&1; then \
		echo "installing baresip-core and sip-tester"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		apt-cache show baresip-core sip-tester >/dev/null 2>&1 || $$SUDO apt-get update -q; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends baresip-core sip-tester; \
	fi

# The dashboard's browser test drives Debian's Chromium with Playwright (never `playwright
# install`, whose browser downloads fail here); a CJK font makes its screenshot legible.
# Installed when missing; without Chromium the browser test fails under CI=true.
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list :lang=zh 2>/dev/null | grep -q .; then \
		echo "installing chromium and a Chinese font"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		apt-cache show chromium fonts-wqy-zenhei >/dev/null 2>&1 || $$SUDO apt-get update -q; \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends chromium fonts-wqy-zenhei; \
	fi

test: $(STAMP) postgres sip-peers browser lint
	DO_NOT_TRACK=1 PREFECT_SERVER_ANALYTICS_ENABLED=false OUTBOUND_REQUIRE_POSTGRES=$${OUTBOUND_REQUIRE_POSTGRES:-1} \
		OUTBOUND_REQUIRE_SIP=$${OUTBOUND_REQUIRE_SIP:-1} OUTBOUND_REQUIRE_BROWSER=$${OUTBOUND_REQUIRE_BROWSER:-1} \
		$(BIN)/pytest

clean:
	rm -rf $(VENV) data artifacts .pytest_cache .mypy_cache .ruff_cache .hypothesis
