# subscription-operator Makefile. Every target installs what it needs: Go tools
# come from the Go module proxy into ./bin, envtest binaries are built from source
# into a cache outside the checkout (hack/setup-envtest.sh).

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

IMG ?= ghcr.io/bakery-ia/subscription-operator:dev
LOCALBIN ?= $(CURDIR)/bin
GOBIN_ENV := GOBIN=$(LOCALBIN)

## Tool versions (verified to install with Go 1.26).
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
KUSTOMIZE_VERSION ?= v5.7.1

CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)

# Packages whose tests need no services; the rest need envtest, Redis or Postgres.
GO_TEST_FLAGS ?= -count=1
TEST_TIMEOUT ?= 30m

.PHONY: all
all: build

##@ General
.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development
.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate CRDs and RBAC from markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/..." paths="./controllers/..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## go fmt.
	go fmt ./...

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT) ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...

.PHONY: verify
verify: manifests generate ## Fail when generated code is out of date.
	@if [ -n "$$(git status --porcelain -- api config)" ]; then \
		echo "generated files are out of date; run 'make manifests generate' and commit:"; \
		git status --porcelain -- api config; git --no-pager diff --stat -- api config; exit 1; fi

.PHONY: envtest
envtest: ## Build kube-apiserver, etcd and kubectl from source (cached outside the checkout).
	@hack/setup-envtest.sh

.PHONY: services
services: ## Check that redis-server and postgres are installed (installs them with apt-get when root).
	@hack/install-services.sh

.PHONY: test
test: services envtest ## Run all tests: unit, and integration against real kube-apiserver, Redis and Postgres.
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh --print-dir)" go test $(GO_TEST_FLAGS) -timeout $(TEST_TIMEOUT) ./...

.PHONY: test-unit
test-unit: ## Run only the tests that need no services.
	go test $(GO_TEST_FLAGS) ./internal/forecast/... ./internal/policy/... ./internal/schedule/...

##@ Build
.PHONY: build
build: ## Build the three programs into bin/.
	CGO_ENABLED=0 go build -trimpath -o $(LOCALBIN)/manager ./cmd/manager
	CGO_ENABLED=0 go build -trimpath -o $(LOCALBIN)/gateway ./cmd/gateway
	CGO_ENABLED=0 go build -trimpath -o $(LOCALBIN)/usage-tracker ./cmd/usage-tracker

.PHONY: run
run: manifests generate ## Run the manager against the current kubeconfig.
	go run ./cmd/manager --leader-elect=false

.PHONY: docker-build
docker-build: ## Build the container image (needs a container engine).
	docker build -t $(IMG) .

##@ Tools
$(LOCALBIN):
	mkdir -p $(LOCALBIN)

$(CONTROLLER_GEN): | $(LOCALBIN)
	$(GOBIN_ENV) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/controller-gen $@

$(GOLANGCI_LINT): | $(LOCALBIN)
	$(GOBIN_ENV) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(LOCALBIN)/golangci-lint $@

$(KUSTOMIZE): | $(LOCALBIN)
	$(GOBIN_ENV) go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	mv $(LOCALBIN)/kustomize $@

.PHONY: tools
tools: $(CONTROLLER_GEN) $(GOLANGCI_LINT) $(KUSTOMIZE) ## Install the pinned Go tools into bin/.

##@ Benchmarks (real Redis and Postgres, started by the benchmarks themselves)
.PHONY: bench-snapshot
bench-snapshot: services ## Snapshot run for 1,000 and 10,000 tenants x 9 metrics: time, round trips, CPU, history key size.
	go test ./bench -run '^$$' -bench 'Snapshot|QueryAll|ReadAll|HistoryWrite' -benchtime 3x -benchmem | tee /dev/stderr | awk '/^Benchmark/ {print}' | column -t

.PHONY: bench-gateway
bench-gateway: ## Gateway vs nginx proxy_pass on loopback: throughput, CPU per request, the Go HTTP ceiling, fixed-rate p99, the 402 path.
	@hack/install-services.sh nginx wrk
	DURATION=$${DURATION:-8s} ROUNDS=$${ROUNDS:-2} bench/gateway.sh

.PHONY: bench-forecast
bench-forecast: ## Forecast maths for one tenant (9 metrics x 60 points).
	go test ./internal/forecast -run '^$$' -bench . -benchmem

##@ Demo and end-to-end
.PHONY: demo
demo: ## Run the operator, the gateway and 50 demo tenants on a local control plane (Ctrl-C stops; DEMO_EXIT=1 exits after printing).
	hack/demo.sh

.PHONY: e2e
e2e: services envtest build ## End-to-end test of the demo scenario with the real binaries (build tag e2e).
	KUBEBUILDER_ASSETS="$$(hack/setup-envtest.sh --print-dir)" go test -tags e2e $(GO_TEST_FLAGS) -timeout 20m -v ./test/e2e/
