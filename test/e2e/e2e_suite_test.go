//go:build e2e

/*
Copyright 2026 The subscription-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package e2e runs the `make demo` scenario without a terminal and asserts on
// it: the real binaries (bin/manager, bin/gateway, bin/usage-tracker, built
// here) against a real kube-apiserver, Redis and Postgres on loopback, with
// the 50-tenant bakery data set of test/scenario. Run with `make e2e`
// (go test -tags e2e ./test/e2e/).
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bakery-ia/subscription-operator/internal/testenv"
	"github.com/bakery-ia/subscription-operator/test/scenario"
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "e2e")
}

var (
	kube     *testenv.Kube
	rdb      *testenv.Redis
	pg       *testenv.Postgres
	data     *scenario.Data
	binDir   string
	upstream *httptest.Server
)

var _ = BeforeSuite(func() {
	root := testenv.RepoRoot()
	binDir = GinkgoT().TempDir()

	By("building bin/manager, bin/gateway and bin/usage-tracker")
	var wg sync.WaitGroup
	buildErrs := make([]error, 3)
	for i, prog := range []string{"manager", "gateway", "usage-tracker"} {
		wg.Go(func() {
			cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(binDir, prog), "./cmd/"+prog)
			cmd.Dir, cmd.Env = root, append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErrs[i] = fmt.Errorf("go build ./cmd/%s: %w\n%s", prog, err, out)
			}
		})
	}

	By("starting kube-apiserver + etcd, redis-server and PostgreSQL on loopback")
	var err error
	kube, err = testenv.StartEnvtest()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() { _ = kube.Stop() })
	rdb, err = testenv.StartRedis()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(rdb.Close)
	pg, err = testenv.StartPostgres()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(pg.Close)
	wg.Wait()
	for _, err := range buildErrs {
		Expect(err).NotTo(HaveOccurred())
	}

	By("seeding 50 tenants with 30 days of history, counters and catalogue rows")
	policy, err := scenario.SamplePolicy(root)
	Expect(err).NotTo(HaveOccurred())
	data, err = scenario.Generate(policy, time.Now())
	Expect(err).NotTo(HaveOccurred())
	Expect(data.Seed(context.Background(), rdb.URL, pg.DSN)).To(Succeed())

	By("installing the demo policy and the TenantUsages with kubectl")
	// As hack/demo.sh does: the samples, with the gateway run as a local process
	// and the tenant read from the path.
	samples := filepath.Join(root, "config", "samples")
	Expect(kubectl("apply", "-f", filepath.Join(samples, "namespace.yaml"))).Error().NotTo(HaveOccurred())
	patched, err := kubectl("patch", "--local", "-o", "yaml", "--type", "json",
		"-f", filepath.Join(samples, "subscriptions_v1alpha1_subscriptionpolicy.yaml"),
		"--patch-file", filepath.Join(root, "hack", "demo", "gateway-patch.json"))
	Expect(err).NotTo(HaveOccurred())
	policyFile := filepath.Join(GinkgoT().TempDir(), "policy.yaml")
	Expect(os.WriteFile(policyFile, []byte(patched), 0o600)).To(Succeed())
	Expect(kubectl("apply", "-f", policyFile)).Error().NotTo(HaveOccurred())
	Expect(kubectl("apply", "-f", filepath.Join(samples, "subscriptions_v1alpha1_tenantusage.yaml"))).Error().NotTo(HaveOccurred())
	tenants, err := data.TenantUsagesYAML()
	Expect(err).NotTo(HaveOccurred())
	f := filepath.Join(GinkgoT().TempDir(), "tenants.yaml")
	Expect(os.WriteFile(f, tenants, 0o600)).To(Succeed())
	Expect(kubectl("apply", "-f", f)).Error().NotTo(HaveOccurred())

	upstream = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"upstream":"bakery-api","path":%q}`, r.URL.Path)
	}))
	DeferCleanup(upstream.Close)
})

func kubectl(args ...string) (string, error) { return kube.Kubectl(args...) }

// --- processes -----------------------------------------------------------------

// process is one of the binaries, with its output kept for failure reports.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func start(name string, args ...string) *process {
	p := &process{name: name, out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(filepath.Join(binDir, strings.Fields(name)[0]), args...)
	p.cmd.Env = append(os.Environ(), "KUBECONFIG="+kube.Kubeconfig)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	Expect(p.cmd.Start()).To(Succeed(), name)
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	DeferCleanup(func() {
		p.stop()
		if CurrentSpecReport().Failed() {
			GinkgoWriter.Printf("---- output of %s (last 4 KiB)\n%s\n", p.name, tail(p.out.String(), 4096))
		}
	})
	return p
}

func (p *process) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits up to 15 s, then kills.
func (p *process) stop() {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func freePort() int {
	port, err := testenv.FreePort()
	Expect(err).NotTo(HaveOccurred())
	return port
}

// manager is a running bin/manager with its ports.
type manager struct {
	*process
	metrics, probe, api int
}

func startManager(name string, leaderElect bool) *manager {
	m := &manager{metrics: freePort(), probe: freePort(), api: freePort()}
	args := []string{
		"--leader-elect=" + strconv.FormatBool(leaderElect),
		"--forecast-api-auth=false",
		"--metrics-bind-address=" + addr(m.metrics),
		"--health-probe-bind-address=" + addr(m.probe),
		"--forecast-api-bind-address=" + addr(m.api),
		"--redis-url=" + rdb.URL,
		"--database-url=" + pg.DSN,
	}
	if leaderElect {
		// Outside a cluster the Lease namespace cannot be read from the
		// ServiceAccount mount.
		Expect(leaderElectionNamespaceFlag()).To(BeTrue(),
			"bin/manager has no --leader-election-namespace flag; without it leader election cannot run outside a cluster")
		args = append(args, "--leader-election-namespace="+scenario.Namespace)
	}
	m.process = start("manager "+name, args...)
	Eventually(func(g Gomega) {
		g.Expect(m.running()).To(BeTrue(), "manager %s exited:\n%s", name, tail(m.out.String(), 2048))
		g.Expect(status(url(m.probe, "/readyz"))).To(Equal(http.StatusOK))
	}).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
	return m
}

// leaderElectionNamespaceFlag reports whether bin/manager has the flag that
// leader election outside a cluster needs.
func leaderElectionNamespaceFlag() bool {
	out, _ := exec.Command(filepath.Join(binDir, "manager"), "--help").CombinedOutput()
	return strings.Contains(string(out), "leader-election-namespace")
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func url(port int, path string) string { return "http://" + addr(port) + path }

var httpClient = &http.Client{Timeout: 30 * time.Second}

func get(u string, header ...string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return httpClient.Do(req)
}

// status GETs u and returns the status code.
func status(u string) (int, error) {
	resp, err := get(u)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

func body(resp *http.Response) []byte {
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	return b
}

// snapshotRuns sums subscription_snapshot_runs_total of the policy over all
// results from a manager's /metrics; -1 when the series does not exist.
func snapshotRuns(m *manager, results ...string) (float64, error) {
	resp, err := get(url(m.metrics, "/metrics"))
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	total, found := 0.0, false
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "subscription_snapshot_runs_total{") ||
			!strings.Contains(line, `policy="`+scenario.Namespace+`/default"`) {
			continue
		}
		if len(results) > 0 && !containsAny(line, results) {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("parsing %q: %w", line, err)
		}
		total, found = total+v, true
	}
	if !found {
		return -1, nil
	}
	return total, nil
}

func containsAny(line string, results []string) bool {
	for _, r := range results {
		if strings.Contains(line, `result="`+r+`"`) {
			return true
		}
	}
	return false
}
