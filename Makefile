# signalbridge: make build | test | lint | bench | demo
GO      ?= go
NODEDIR := bridge/crisp/testdata/node
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: all build test deps lint bench eval demo fuzz soak clean

all: build

build:
	$(GO) build -ldflags "-X main.Version=$(VERSION)" -o bin/signalbridge ./cmd/signalbridge

# deps installs what the tests need beyond Go modules, skipping what is there: the Node Socket.IO
# peers (npm ci), Debian's chromium for the browser tests and redis-server for the Redis store tests
# (apt-get; needs root).
deps:
	@test -d $(NODEDIR)/node_modules || npm ci --prefix $(NODEDIR) --no-audit --no-fund --loglevel=error
	@command -v chromium >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; \
		else echo "chromium missing: sudo apt-get install chromium (or run as root)"; exit 1; fi; }
	@command -v redis-server >/dev/null 2>&1 || { \
		if [ "$$(id -u)" = 0 ]; then \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null; \
		else echo "redis-server missing: sudo apt-get install redis-server (or run as root)"; exit 1; fi; }

# The test command of the README and of .ci/run.
test: deps
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 25m ./...

# lint fails on unformatted code (gofmt -l), an untidy module (go mod tidy -diff) or a vet finding.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: unformatted files:"; echo "$$out"; exit 1; fi
	@$(GO) mod tidy -diff >/dev/null 2>&1 || { echo "go.mod/go.sum untidy: run go mod tidy"; $(GO) mod tidy -diff; exit 1; }
	$(GO) vet ./...

# Figures (printed, never asserted): the disk's floor, the open-loop latency benchmark (a generator
# process against signalbridge in its own process), the load benchmark and the package benchmarks,
# within about five minutes on 2 cores (6 minutes measured on 2 cores shared with other heavy work,
# load average 9 to 12). docs/figures-method.md says how latency and the floor are measured.
# Sizes: SB_BENCH_* environment variables (see cmd/signalbridge/bench_test.go and
# bench_openloop_test.go), e.g. SB_BENCH_STARTUP_CONVS=1000000 for the README's start-up figure,
# SB_BENCH_OPEN_RATES=500,1000 SB_BENCH_OPEN_DURATION=10s for longer open-loop runs, and
# SB_BENCH_PPROF=dir for CPU profiles of the server on the hook and RTM paths.
bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./cmd/signalbridge/ ./bridge/
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 200ms -timeout 30m ./bridge/bolt/ ./bridge/redis/ ./signals/ ./assistant/... ./bridge/crisp/...

# Answer figures on every evaluation set (assistant/testdata/eval/independent.tsv, frozen; the
# development sets dev.tsv to dev4.tsv; questions.tsv), printed; floors only guard regressions. See
# docs/knowledge-base.md. SB_EVAL_MISSES=1 lists the development sets' and the tuning split's misses.
eval:
	$(GO) test -count=1 -run '^TestEval$$' -v ./assistant/

# Short fuzzing of every fuzz target (their seed corpora run in `make test` too).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzDecodeHook -fuzztime 20s ./bridge/crisp/
	$(GO) test -run '^$$' -fuzz FuzzParseFrame -fuzztime 20s ./bridge/crisp/
	$(GO) test -run '^$$' -fuzz FuzzParsePacket -fuzztime 20s ./bridge/crisp/crisptest/
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime 20s ./signals/
	$(GO) test -run '^$$' -fuzz FuzzDecodeConversation -fuzztime 20s ./bridge/bolt/

# The model-based tests of the bridge for longer: SOAK_CASES random interleavings of one bridge
# (default 20,000), then SOAK_REPLICA_CASES of two or three replicas on a real redis-server
# (default 5,000); each prints how many cases and inputs it ran.
SOAK_CASES ?= 20000
SOAK_REPLICA_CASES ?= 5000
soak: deps
	$(GO) test -v -count=1 -run '^TestModelBridge$$' -timeout 3h ./bridge/ -rapid.checks=$(SOAK_CASES)
	REPLICA_CHECKS=$(SOAK_REPLICA_CASES) $(GO) test -v -count=1 -run '^TestModelReplicas$$' -timeout 4h ./bridge/

demo:
	$(GO) run ./cmd/signalbridge demo

clean:
	rm -rf bin
