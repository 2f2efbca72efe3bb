# Thin aliases. `make onion` and `make test` work on a fresh Debian machine: they install what is missing.
VENV    ?= .venv
PY      := $(VENV)/bin/python
MIRROR  := $(VENV)/bin/mirror
STAMP   := $(VENV)/.installed
TESTNET ?=
PYTEST_ARGS ?=

.PHONY: onion test build check serve zip bench venv clean

$(STAMP): pyproject.toml
	@python3 -m venv --help >/dev/null 2>&1 || tools/system-deps run
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test,balance]'
	touch $@

venv: $(STAMP)

build: $(STAMP)
	$(MIRROR) build

check: build
	$(MIRROR) check build/site

onion: build
	@tools/system-deps run
ifeq ($(TESTNET),1)
	$(MIRROR) onion --testnet build/site
else
	$(MIRROR) onion build/site
endif

test: $(STAMP)
	@tools/system-deps test
	$(PY) -m pytest $(PYTEST_ARGS)

serve: build
	$(MIRROR) serve build/site

zip: build
	$(MIRROR) zip build/site -o build/site.zip

bench: $(STAMP)
	@tools/system-deps bench
	$(PY) -m bench

clean:
	rm -rf build .pytest_cache
