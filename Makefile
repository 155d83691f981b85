VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint unit clean real-k8s

$(BIN)/herd: pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/herd

run: $(BIN)/herd
	$(BIN)/python examples/demo.py

lint: $(BIN)/herd
	$(BIN)/ruff check src tests bench examples
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q --durations=20 tests $(PYTEST_ARGS)

# kube-apiserver and etcd built from their Go modules into .cache/real-k8s/bin/ (Go caches reused)
real-k8s:
	hack/real-k8s.sh

clean:
	rm -rf $(VENV)
