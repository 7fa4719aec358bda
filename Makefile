.PHONY: run test lint stop setup

# Set up everything (system packages, .venv, local PostGIS and Redis, migrations), then serve.
run:
	bash scripts/run.sh

# The same set-up, then the whole test suite against the real PostGIS and Redis.
test:
	bash scripts/test.sh $(ARGS)

lint:
	bash scripts/lint.sh

stop:
	bash scripts/stop.sh

setup:
	bash scripts/setup.sh
