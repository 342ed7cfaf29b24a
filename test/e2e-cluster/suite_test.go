//go:build e2ecluster

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

// Package e2ecluster installs the operator into the one-node cluster of
// hack/cluster (make cluster) the way a user does, `kubectl apply -k
// config/default` with the image of `make image`, and asserts on what only pods
// show: Pod Security, leader election between pods, the gateway Deployment the
// operator creates, Services through kube-proxy and CoreDNS, ServiceAccount
// tokens, and faults. Redis and Postgres run on the host end of the node's veth,
// as services outside the cluster would. Run with `make e2e-cluster`
// (go test -tags e2ecluster ./test/e2e-cluster/).
package e2ecluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bakery-ia/subscription-operator/internal/testenv/pgready"
)

func TestE2ECluster(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "e2e-cluster")
}

const (
	operatorNS = "subscription-operator-system"
	appNS      = "bakery-ia"
	starter    = "panaderia-san-pablo"
	pro        = "obrador-donostia"
	leaseName  = "subscription-operator.bakery-ia.io"
)

var (
	kubeconfig, kubectlBin, kustomizeBin, image, hostIP, repoRoot string
	redisURL, databaseURL                                         string
)

// env returns a required environment variable, failing with how to set it.
func env(name, hint string) string {
	v := os.Getenv(name)
	Expect(v).NotTo(BeEmpty(), "%s is not set: %s (make e2e-cluster sets it)", name, hint)
	return v
}

var _ = BeforeSuite(func() {
	kubeconfig = env("CLUSTER_KUBECONFIG", "the admin kubeconfig of hack/cluster/up.sh")
	kubectlBin = env("KUBECTL", "kubectl of hack/setup-envtest.sh")
	kustomizeBin = env("KUSTOMIZE", "bin/kustomize-v5.7.1 (make tools)")
	image = env("IMG", "the image imported into the cluster (make image)")
	hostIP = env("CLUSTER_HOST_IP", "the host end of the node's veth (hack/cluster/env.sh)")
	wd, err := os.Getwd()
	Expect(err).NotTo(HaveOccurred())
	repoRoot = filepath.Join(wd, "..", "..")
	_, err = kubectl("get", "--raw", "/readyz")
	Expect(err).NotTo(HaveOccurred(), "the cluster does not answer: run make cluster")

	By("starting Redis and Postgres on the host end of the node's veth (" + hostIP + ")")
	redisURL = startRedis()
	databaseURL = startPostgres()
	seedPostgres(databaseURL)

	By("installing with kubectl apply -k config/default and our image")
	Expect(kubectl("create", "namespace", operatorNS)).Error().NotTo(HaveOccurred())
	podRedisURL := strings.Replace(redisURL, "127.0.0.1", hostIP, 1)
	podDatabaseURL := strings.Replace(databaseURL, "127.0.0.1", hostIP, 1)
	Expect(kubectl("-n", operatorNS, "create", "secret", "generic", "subscription-operator-redis", "--from-literal=url="+podRedisURL)).Error().NotTo(HaveOccurred())
	Expect(kubectl("-n", operatorNS, "create", "secret", "generic", "subscription-operator-database", "--from-literal=url="+podDatabaseURL)).Error().NotTo(HaveOccurred())
	overlay := GinkgoT().TempDir()
	rel, err := filepath.Rel(overlay, filepath.Join(repoRoot, "config", "default"))
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - "+rel+"\n"), 0o644)).To(Succeed())
	name, tag := splitImage(image)
	cmd := exec.Command(kustomizeBin, "edit", "set", "image", "ghcr.io/bakery-ia/subscription-operator="+name+":"+tag)
	cmd.Dir = overlay
	out, err := cmd.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	// kubectl's own kustomize, as a user runs it. The overlay in a temporary
	// directory may name config/default in the checkout: kustomize restricts
	// files to the kustomization's root, not bases.
	Expect(kubectl("apply", "-k", overlay)).Error().NotTo(HaveOccurred())

	By("the samples, Secrets for the gateway and an upstream Deployment")
	Expect(kubectl("apply", "-f", filepath.Join(repoRoot, "config", "samples", "namespace.yaml"))).Error().NotTo(HaveOccurred())
	Expect(kubectl("-n", appNS, "create", "secret", "generic", "subscription-operator-redis", "--from-literal=url="+podRedisURL)).Error().NotTo(HaveOccurred())
	Expect(kubectlStdin(upstreamAndClients(image), "apply", "-f", "-")).Error().NotTo(HaveOccurred())
	// The sample policy with the tenant read from the path (no JWT issuer in the
	// test) and a snapshot every minute, so the scheduled runs happen while we watch.
	Expect(kubectl("apply", "-f", filepath.Join(repoRoot, "config", "samples", "subscriptions_v1alpha1_tenantusage.yaml"))).Error().NotTo(HaveOccurred())
	policy, err := kubectl("patch", "--local", "-o", "yaml", "--type=json",
		"-f", filepath.Join(repoRoot, "config", "samples", "subscriptions_v1alpha1_subscriptionpolicy.yaml"),
		"-p", `[{"op":"replace","path":"/spec/gateway/tenantIdentity","value":{"from":"path"}},`+
			`{"op":"replace","path":"/spec/snapshot/schedule","value":"* * * * *"}]`)
	Expect(err).NotTo(HaveOccurred())
	Expect(kubectlStdin(policy, "apply", "-f", "-")).Error().NotTo(HaveOccurred())
})

// splitImage splits registry/name:tag at the tag's colon.
func splitImage(ref string) (string, string) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, "latest"
	}
	return ref[:i], ref[i+1:]
}

func kubectl(args ...string) (string, error) { return kubectlStdin("", args...) }

func kubectlStdin(stdin string, args ...string) (string, error) {
	cmd := exec.Command(kubectlBin, append([]string{"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

// kubectlJSON decodes kubectl get -o json output into v.
func kubectlJSON(v any, args ...string) error {
	out, err := kubectl(append(args, "-o", "json")...)
	if err != nil {
		return err
	}
	return json.Unmarshal([]byte(out), v)
}

// freePort returns a TCP port free on the host IP.
func freePort() int {
	l, err := net.Listen("tcp", net.JoinHostPort(hostIP, "0"))
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// startDaemon runs cmd until the suite ends and waits for addr to accept connections.
func startDaemon(cmd *exec.Cmd, addr, logPath string, cred *syscall.Credential) {
	logf, err := os.Create(logPath)
	Expect(err).NotTo(HaveOccurred())
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	Expect(cmd.Start()).To(Succeed(), "starting %s", cmd.Path)
	DeferCleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	})
	Eventually(func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			_ = c.Close()
		}
		return err
	}).WithTimeout(30*time.Second).WithPolling(100*time.Millisecond).Should(Succeed(), "%s did not start; log %s", cmd.Path, logPath)
}

// startRedis runs redis-server on the host IP (pods reach it through the veth)
// and on loopback (the test reaches it), and returns the loopback URL.
func startRedis() string {
	bin, err := exec.LookPath("redis-server")
	Expect(err).NotTo(HaveOccurred(), "redis-server not found: make services (apt-get install redis-server)")
	dir := GinkgoT().TempDir()
	port := freePort()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", hostIP+" 127.0.0.1", "--protected-mode", "no",
		"--dir", dir, "--save", "", "--appendonly", "no")
	startDaemon(cmd, net.JoinHostPort(hostIP, strconv.Itoa(port)), filepath.Join(dir, "redis.log"), nil)
	return fmt.Sprintf("redis://127.0.0.1:%d/0", port)
}

// startPostgres runs a throw-away PostgreSQL cluster (as the user postgres when
// root) on the host IP and loopback, trusting the node's address, and returns
// the loopback DSN.
func startPostgres() string {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	Expect(bins).NotTo(BeEmpty(), "initdb not found under /usr/lib/postgresql: make services (apt-get install postgresql)")
	binDir := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "e2e-cluster-postgres-")
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(os.RemoveAll, dir)
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		Expect(err).NotTo(HaveOccurred(), "as root PostgreSQL runs as the user postgres: apt-get install postgresql")
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		Expect(os.Chown(dir, uid, gid)).To(Succeed())
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(binDir, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	out, err := initdb.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	// The pods' connections arrive from the node's address (the CNI bridge masquerades).
	hba, err := os.OpenFile(filepath.Join(data, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
	Expect(err).NotTo(HaveOccurred())
	_, err = fmt.Fprintf(hba, "host all all %s/30 trust\n", hostIP)
	Expect(err).NotTo(HaveOccurred())
	Expect(hba.Close()).To(Succeed())
	port := freePort()
	cmd := exec.Command(filepath.Join(binDir, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1,"+hostIP, "-c", "fsync=off")
	logPath := filepath.Join(dir, "postgres.log")
	startDaemon(cmd, net.JoinHostPort(hostIP, strconv.Itoa(port)), logPath, cred)
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	// Postgres accepts connections before it accepts queries ("the database
	// system is starting up", 57P03: it failed CI's seed step once), so an
	// open port is not ready; an answer to SELECT 1 is.
	Eventually(func() error { return pgready.Ping(dsn) }).WithTimeout(30*time.Second).WithPolling(50*time.Millisecond).Should(Succeed(), "postgres did not answer SELECT 1; log %s", logPath)
	return dsn
}

// seedPostgres creates the five catalogue tables of the sample policy with a
// few rows per sample tenant.
func seedPostgres(dsn string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = conn.Close(ctx) }()
	for _, t := range []string{"products", "locations", "recipes", "suppliers"} {
		_, err := conn.Exec(ctx, "CREATE TABLE "+t+" (id serial PRIMARY KEY, tenant_id text NOT NULL)")
		Expect(err).NotTo(HaveOccurred())
	}
	_, err = conn.Exec(ctx, "CREATE TABLE users (id serial PRIMARY KEY, tenant_id text NOT NULL, active boolean NOT NULL DEFAULT true)")
	Expect(err).NotTo(HaveOccurred())
	for i, tenant := range []string{starter, pro, "horno-central"} {
		for _, t := range []string{"products", "users", "locations", "recipes", "suppliers"} {
			_, err := conn.Exec(ctx, "INSERT INTO "+t+" (tenant_id) SELECT $1 FROM generate_series(1, $2)", tenant, 3+i*10)
			Expect(err).NotTo(HaveOccurred())
		}
	}
}

// upstreamAndClients is the bakery API stand-in (the demo upstream of our image)
// behind the gateway, and two client pods for in-cluster requests (the same
// program with --get, run through kubectl exec): one whose ServiceAccount may
// read forecasts, one whose ServiceAccount may not. Every pod meets the
// restricted Pod Security Standard.
func upstreamAndClients(img string) string {
	const security = `
      securityContext: {runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: {type: RuntimeDefault}}`
	const containerSecurity = `
          securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: {drop: ["ALL"]}}
          resources: {requests: {cpu: 10m, memory: 16Mi}, limits: {memory: 64Mi}}`
	client := func(name string) string {
		return `
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: ` + name + `, namespace: ` + appNS + `}
automountServiceAccountToken: false
---
apiVersion: v1
kind: Pod
metadata: {name: ` + name + `, namespace: ` + appNS + `}
spec:
  serviceAccountName: ` + name + `
  terminationGracePeriodSeconds: 1` + strings.ReplaceAll(security, "\n      ", "\n  ") + `
  containers:
    - name: main
      image: ` + img + `
      command: ["/demo-upstream", "--listen=127.0.0.1:8000"]` + strings.ReplaceAll(containerSecurity, "\n          ", "\n      ") + `
      volumeMounts: [{name: token, mountPath: /var/run/secrets/tokens, readOnly: true}]
  volumes:
    - name: token
      projected:
        sources:
          - serviceAccountToken: {path: token, expirationSeconds: 3600}`
	}
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: bakery-api, namespace: ` + appNS + `}
spec:
  replicas: 1
  selector: {matchLabels: {app: bakery-api}}
  template:
    metadata: {labels: {app: bakery-api}}
    spec:
      automountServiceAccountToken: false` + security + `
      containers:
        - name: main
          image: ` + img + `
          command: ["/demo-upstream", "--listen=:8000"]
          ports: [{name: http, containerPort: 8000}]
          readinessProbe: {tcpSocket: {port: http}, periodSeconds: 2}` + containerSecurity + `
---
apiVersion: v1
kind: Service
metadata: {name: bakery-api, namespace: ` + appNS + `}
spec:
  selector: {app: bakery-api}
  ports: [{name: http, port: 8000, targetPort: http}]` +
		client("forecast-reader") + client("stranger") + `
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: forecast-reader, namespace: ` + appNS + `}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: subscription-operator-forecast-reader}
subjects: [{kind: ServiceAccount, name: forecast-reader, namespace: ` + appNS + `}]
`
}
