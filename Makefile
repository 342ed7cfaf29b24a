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

FUZZTIME ?= 30s
# Fuzzing runs on Go 1.27.3, taken from the Go module proxy like any module (76 MB,
# once per machine). Go 1.26's fuzz coordinator has a race at the -fuzztime deadline
# (go.dev/issue/75804, fixed in 1.27): a worker's shutdown is now and then reported as
# "context deadline exceeded", a failure with no crasher, as CI saw on a loaded machine.
# The module still builds and tests on the machine's Go; FUZZ_GOTOOLCHAIN=local uses it.
FUZZ_GOTOOLCHAIN ?= go1.27.3

.PHONY: fuzz
fuzz: ## Run every fuzz target in the repository for FUZZTIME each (default 30s); the seed corpora also run in make test.
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./bin/' | sort); do \
		pkg="./$$(dirname "$${f#./}")"; \
		for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$$f"); do \
			echo "== fuzz $$pkg $$name ($(FUZZTIME))"; \
			GOTOOLCHAIN=$(FUZZ_GOTOOLCHAIN) go test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done

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
docker-build: ## Build the container image with the Dockerfile (needs a container engine; same contents as make image).
	docker build -t $(IMG) .

# make image: the one image (manager, gateway, usage-tracker and the demo upstream)
# assembled offline from static binaries by hack/image (go-containerregistry), with no
# base image pulled and no container engine. Reproducible: the binaries are built with
# -trimpath and an empty build ID, and every timestamp is the commit's time. Time zone
# data is Go's time/tzdata embedded in every program (the image has no zoneinfo).
IMAGE_DIR ?= $(CURDIR)/dist
IMAGE_TAR ?= $(IMAGE_DIR)/subscription-operator-image.tar
PAUSE_IMG ?= registry.k8s.io/pause:3.10.2
PAUSE_TAR ?= $(IMAGE_DIR)/pause-image.tar
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
GIT_REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
GO_IMAGE_BUILD = CGO_ENABLED=0 GOOS=linux GOARCH=amd64 go build -trimpath -ldflags="-s -w -buildid=" -buildvcs=false

.PHONY: image
image: ## Build the image offline as an OCI layout tarball (dist/subscription-operator-image.tar; ctr images import accepts it).
	@mkdir -p $(IMAGE_DIR)/bin
	$(GO_IMAGE_BUILD) -o $(IMAGE_DIR)/bin/manager ./cmd/manager
	$(GO_IMAGE_BUILD) -o $(IMAGE_DIR)/bin/gateway ./cmd/gateway
	$(GO_IMAGE_BUILD) -o $(IMAGE_DIR)/bin/usage-tracker ./cmd/usage-tracker
	$(GO_IMAGE_BUILD) -o $(IMAGE_DIR)/bin/demo-upstream ./hack/demo/upstream
	cd hack/image && go run . -bin-dir $(IMAGE_DIR)/bin -out $(IMAGE_TAR) -name $(IMG) -created $(SOURCE_DATE_EPOCH) \
		-label org.opencontainers.image.title=subscription-operator \
		-label "org.opencontainers.image.description=Kubernetes operator for bakery-ia subscriptions: usage forecasts and the plan-enforcing gateway" \
		-label org.opencontainers.image.source=https://github.com/bakery-ia/subscription-operator \
		-label org.opencontainers.image.revision=$(GIT_REVISION) \
		-label org.opencontainers.image.version=$(lastword $(subst :, ,$(IMG))) \
		-label org.opencontainers.image.created=$$(date -u -d @$(SOURCE_DATE_EPOCH) +%Y-%m-%dT%H:%M:%SZ) \
		-label org.opencontainers.image.licenses=Apache-2.0 \
		-label org.opencontainers.image.vendor=bakery-ia

.PHONY: test-image
test-image: ## Test the image builder (reproducible digest, contents, bad input); its own Go module.
	cd hack/image && go test $(GO_TEST_FLAGS) ./...

.PHONY: pause-image
pause-image: ## Build the pod sandbox (pause) image the local cluster needs, offline.
	@mkdir -p $(IMAGE_DIR)/pause
	cd hack/image && $(GO_IMAGE_BUILD) -o $(IMAGE_DIR)/pause/pause ./pause
	cd hack/image && go run . -bin-dir $(IMAGE_DIR)/pause -programs pause -entrypoint /pause -user 65535:65535 -ca-bundle "" \
		-out $(PAUSE_TAR) -name $(PAUSE_IMG) -created $(SOURCE_DATE_EPOCH)

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

.PHONY: bench-scale
bench-scale: ## N tenants (default 10000; N=100000 documented) end to end: run time, freshness, status writes, RSS, API requests. REDIS_CLUSTER=1: three-master cluster.
	N=$${N:-10000} go test ./bench/scale -run '^$$' -bench Scale -benchtime 1x -timeout 90m

.PHONY: bench-gateway
bench-gateway: ## Gateway vs nginx, HAProxy and Caddy on loopback: throughput, p99, CPU per request, the Go HTTP ceiling, fixed-rate p99, the 402 path.
	@hack/install-services.sh nginx wrk haproxy caddy
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

##@ Local cluster (pods on this machine; needs root, cgroups and iptables)
.PHONY: cluster-deps
cluster-deps: ## Check (as root: install) the Debian packages the local cluster needs.
	@hack/cluster/deps.sh

.PHONY: cluster-binaries
cluster-binaries: cluster-deps ## Build kubelet, controller-manager, scheduler, kube-proxy, containerd, runc and CoreDNS (cached outside the checkout).
	@hack/cluster/build.sh

.PHONY: cluster
cluster: envtest cluster-binaries image pause-image ## Start a one-node Kubernetes cluster built from source, with our image imported (KUBECONFIG printed at the end).
	hack/cluster/up.sh $(IMAGE_TAR) $(PAUSE_TAR)

.PHONY: cluster-down
cluster-down: ## Stop the local cluster and check that nothing is left behind.
	hack/cluster/down.sh

.PHONY: e2e-cluster
e2e-cluster: services envtest cluster-binaries image pause-image $(KUSTOMIZE) ## Install with kubectl apply -k config/default into a fresh local cluster and test pods (build tag e2ecluster).
	hack/cluster/e2e.sh $(IMAGE_TAR) $(PAUSE_TAR) $(IMG) $(KUSTOMIZE)

