# Wait Well: `make run` to try it, `make test` to test it. See README.md.
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
NHSUK := node_modules/nhsuk-frontend/dist/nhsuk

.PHONY: install run test lint format lock clean

install: $(VENV)/.installed static/nhsuk/.built

$(VENV)/.installed: requirements.txt requirements-dev.txt bin/find-python
	@python=$$(PYTHON="$(PYTHON)" bin/find-python) || exit 1; \
	  echo "Building $(VENV) with $$python"; \
	  rm -rf $(VENV) && "$$python" -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# The NHS.UK frontend's compiled CSS, JavaScript and images. Its CSS points at /assets/:
# rewrite that to a relative path so the files work under STATIC_URL and get hashed names.
static/nhsuk/.built: node_modules/.installed
	rm -rf static/nhsuk && mkdir -p static/nhsuk
	cp $(NHSUK)/nhsuk-frontend.min.js $(NHSUK)/nhsuk-frontend.min.js.map $(NHSUK)/nhsuk-frontend.min.css.map static/nhsuk/
	sed 's#url(/assets/#url(assets/#g' $(NHSUK)/nhsuk-frontend.min.css > static/nhsuk/nhsuk-frontend.min.css
	cp -r $(NHSUK)/assets static/nhsuk/assets
	touch $@

run: export DEBUG ?= on
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py load_demo
	$(VENV)/bin/honcho -f Procfile.dev start --port $(PORT)

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=on $(PY) manage.py makemigrations --check --dry-run

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Re-pins every Python dependency from requirements*.in.
lock: install
	$(VENV)/bin/pip install --quiet pip-tools
	$(VENV)/bin/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements.txt requirements.in
	$(VENV)/bin/pip-compile --quiet --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements-dev.txt requirements-dev.in

clean:
	rm -rf $(VENV) node_modules static/nhsuk var
