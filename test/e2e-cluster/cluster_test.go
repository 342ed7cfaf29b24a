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

package e2ecluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The objects the specs read, decoded from kubectl -o json (only the fields used).
type condition struct {
	Type, Status, Reason, Message string
}

type podList struct {
	Items []struct {
		Metadata struct {
			Name   string            `json:"name"`
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Status struct {
			Phase      string      `json:"phase"`
			PodIP      string      `json:"podIP"`
			Conditions []condition `json:"conditions"`
		} `json:"status"`
	} `json:"items"`
}

func ready(conds []condition) bool {
	for _, c := range conds {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

const (
	managerSelector = "app.kubernetes.io/name=subscription-operator,app.kubernetes.io/component=manager"
	// The gateway pods of the policy "default" (internal/gatewaydeploy.SelectorLabels).
	gatewaySelector = "app.kubernetes.io/name=gateway,app.kubernetes.io/instance=default"
)

// readyPods returns the names and IPs of the Running, Ready pods matching selector.
func readyPods(g Gomega, ns, selector string) map[string]string {
	var pods podList
	g.Expect(kubectlJSON(&pods, "get", "pods", "-n", ns, "-l", selector)).To(Succeed())
	out := map[string]string{}
	for _, p := range pods.Items {
		if p.Status.Phase == "Running" && ready(p.Status.Conditions) {
			out[p.Metadata.Name] = p.Status.PodIP
		}
	}
	return out
}

// leaseHolder returns the pod name in the manager Lease's holderIdentity (<pod>_<uuid>).
func leaseHolder() (string, error) {
	out, err := kubectl("get", "lease", leaseName, "-n", operatorNS, "-o", "jsonpath={.spec.holderIdentity}")
	if err != nil {
		return "", err
	}
	pod, _, _ := strings.Cut(out, "_")
	return pod, nil
}

var httpClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: false, MaxIdleConnsPerHost: 16}}

// get does a GET with optional header pairs and returns the status and body.
func get(url string, hdr ...string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// fromPod runs the image's HTTP client (/demo-upstream --get) in a client pod and
// returns the status code and the body it printed.
func fromPod(pod string, args ...string) (int, string, error) {
	out, err := kubectl(append([]string{"exec", "-n", appNS, pod, "--", "/demo-upstream"}, args...)...)
	if err != nil {
		return 0, "", err
	}
	first, body, _ := strings.Cut(out, "\n")
	code, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, "", fmt.Errorf("client output %q: %w", out, err)
	}
	return code, body, nil
}

// snapshotRuns sums subscription_snapshot_runs_total over the given manager pods'
// /metrics (pod IPs are routed from the host through the node).
func snapshotRuns(podIPs map[string]string) (float64, error) {
	total := 0.0
	for name, ip := range podIPs {
		code, body, err := get("http://" + ip + ":8080/metrics")
		if err != nil {
			return 0, fmt.Errorf("metrics of %s: %w", name, err)
		}
		if code != http.StatusOK {
			return 0, fmt.Errorf("metrics of %s: status %d", name, code)
		}
		for _, line := range strings.Split(body, "\n") {
			if !strings.HasPrefix(line, "subscription_snapshot_runs_total{") || !strings.Contains(line, `policy="`+appNS+`/default"`) {
				continue
			}
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				return 0, err
			}
			total += v
		}
	}
	return total, nil
}

// status does a GET and returns only the status code.
func status(url string) (int, error) {
	code, _, err := get(url)
	return code, err
}

func serviceIP(ns, name string) string {
	ip, err := kubectl("get", "svc", name, "-n", ns, "-o", "jsonpath={.spec.clusterIP}")
	Expect(err).NotTo(HaveOccurred())
	Expect(ip).NotTo(BeEmpty())
	return ip
}

const analytics = "/forecasting/analytics/advanced"

var _ = Describe("the operator installed with kubectl apply -k config/default", Ordered, func() {
	It("runs the manager pods Running and Ready under the restricted Pod Security Standard, with exactly one Lease holder", func() {
		label, err := kubectl("get", "ns", operatorNS, "-o", `jsonpath={.metadata.labels.pod-security\.kubernetes\.io/enforce}`)
		Expect(err).NotTo(HaveOccurred())
		Expect(label).To(Equal("restricted"))
		var pods map[string]string
		Eventually(func(g Gomega) {
			pods = readyPods(g, operatorNS, managerSelector)
			g.Expect(pods).To(HaveLen(2))
		}).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
		Eventually(func(g Gomega) {
			holder, err := leaseHolder()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(pods).To(HaveKey(holder))
		}).WithTimeout(time.Minute).WithPolling(time.Second).Should(Succeed())
		// One Lease, one holder: the other replica waits.
		leases, err := kubectl("get", "lease", "-n", operatorNS, "-o", "name")
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Fields(leases)).To(ConsistOf("lease.coordination.k8s.io/" + leaseName))
	})

	It("makes the policy Ready and writes the tenants' forecasts from the in-cluster manager", func() {
		Eventually(func() (string, error) {
			return kubectl("get", "subpol", "default", "-n", appNS, "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		}).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Equal("True"))
		// The schedule is every minute: the leader's first run writes every tenant.
		Eventually(func(g Gomega) {
			var list struct {
				Items []struct {
					Status struct {
						LastSnapshotDate string            `json:"lastSnapshotDate"`
						Metrics          []json.RawMessage `json:"metrics"`
					} `json:"status"`
				} `json:"items"`
			}
			g.Expect(kubectlJSON(&list, "get", "tu", "-n", appNS)).To(Succeed())
			g.Expect(list.Items).To(HaveLen(3))
			for _, tu := range list.Items {
				g.Expect(tu.Status.LastSnapshotDate).NotTo(BeEmpty())
				g.Expect(tu.Status.Metrics).To(HaveLen(9))
			}
		}).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
		out, _ := kubectl("get", "tu", "-n", appNS)
		GinkgoWriter.Println(out)
	})

	It("creates the gateway Deployment with Ready pods, GatewayReady=True from its status, and its PDB", func() {
		Eventually(func(g Gomega) {
			g.Expect(readyPods(g, appNS, gatewaySelector)).To(HaveLen(2))
			st, err := kubectl("get", "subpol", "default", "-n", appNS, "-o", `jsonpath={.status.conditions[?(@.type=="GatewayReady")].status}`)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(st).To(Equal("True"))
		}).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
		Expect(kubectl("get", "deploy", "default-gateway", "-n", appNS, "-o", "jsonpath={.status.readyReplicas}")).To(Equal("2"))
		Expect(kubectl("get", "pdb", "default-gateway", "-n", appNS)).Error().NotTo(HaveOccurred())
	})

	It("answers a 402 in Spanish and proxies a 200 through the gateway's Service (ClusterIP and DNS name)", func() {
		gw := "http://" + serviceIP(appNS, "default-gateway")
		dns := "http://default-gateway." + appNS + ".svc.cluster.local"
		check402 := func(code int, body string) {
			Expect(code).To(Equal(http.StatusPaymentRequired), body)
			var doc struct {
				Code    string `json:"code"`
				Details struct {
					Title       string `json:"title"`
					CurrentTier string `json:"current_tier"`
				} `json:"details"`
			}
			Expect(json.Unmarshal([]byte(body), &doc)).To(Succeed(), body)
			Expect(doc.Code).To(Equal("SUBSCRIPTION_UPGRADE_REQUIRED"))
			Expect(doc.Details.Title).To(Equal("Desbloquea la Analítica Avanzada"))
			Expect(doc.Details.CurrentTier).To(Equal("starter"))
		}
		check200 := func(code int, body, path string) {
			Expect(code).To(Equal(http.StatusOK), body)
			Expect(body).To(ContainSubstring(`"upstream":"bakery-api"`))
			Expect(body).To(ContainSubstring(`"path":"` + path + `"`))
		}
		starterPath := "/api/v1/tenants/" + starter + analytics
		proPath := "/api/v1/tenants/" + pro + analytics

		By("ClusterIP through kube-proxy, from the host")
		code, body, err := get(gw+starterPath, "Accept-Language", "es")
		Expect(err).NotTo(HaveOccurred())
		check402(code, body)
		code, body, err = get(gw + proPath)
		Expect(err).NotTo(HaveOccurred())
		check200(code, body, proPath)

		By("the Service's DNS name (CoreDNS), from a pod")
		Eventually(func(g Gomega) {
			code, body, err := fromPod("stranger", "--get", dns+starterPath, "--header", "Accept-Language: es")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(code).To(Equal(http.StatusPaymentRequired), body)
		}).WithTimeout(2 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
		code, body, err = fromPod("stranger", "--get", dns+starterPath, "--header", "Accept-Language: es")
		Expect(err).NotTo(HaveOccurred())
		check402(code, body)
		code, body, err = fromPod("stranger", "--get", dns+proPath)
		Expect(err).NotTo(HaveOccurred())
		check200(code, body, proPath)
	})

	It("answers the forecast API with a pod's projected ServiceAccount token: 200 with the reader Role, 403 without", func() {
		api := "http://subscription-operator-forecast-api." + operatorNS + ".svc.cluster.local:8082/api/v1/usage-forecast?namespace=" + appNS + "&tenant_id=" + starter
		token := "/var/run/secrets/tokens/token"
		code, body, err := fromPod("forecast-reader", "--get", api, "--bearer-file", token)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusOK), body)
		Expect(body).To(ContainSubstring(`"tenant_id":"` + starter + `"`))
		code, body, err = fromPod("stranger", "--get", api, "--bearer-file", token)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusForbidden), body)
		code, body, err = fromPod("stranger", "--get", api)
		Expect(err).NotTo(HaveOccurred())
		Expect(code).To(Equal(http.StatusUnauthorized), body)
	})

	It("has its NetworkPolicy objects applied (the bridge CNI plugin does not enforce them)", func() {
		out, err := kubectl("get", "networkpolicy", "-A", "-o", `jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}`)
		Expect(err).NotTo(HaveOccurred())
		Expect(out).To(ContainSubstring(operatorNS + "/subscription-operator-controller-manager"))
	})

	It("records the manager and gateway pods' memory from the kubelet's /stats/summary", func() {
		var summary struct {
			Pods []struct {
				PodRef struct{ Name, Namespace string } `json:"podRef"`
				Memory struct {
					WorkingSetBytes uint64 `json:"workingSetBytes"`
				} `json:"memory"`
			} `json:"pods"`
		}
		node, err := kubectl("get", "nodes", "-o", "jsonpath={.items[0].metadata.name}")
		Expect(err).NotTo(HaveOccurred())
		out, err := kubectl("get", "--raw", "/api/v1/nodes/"+node+"/proxy/stats/summary")
		Expect(err).NotTo(HaveOccurred())
		Expect(json.Unmarshal([]byte(out), &summary)).To(Succeed())
		found := 0
		for _, p := range summary.Pods {
			if strings.Contains(p.PodRef.Name, "controller-manager") || strings.Contains(p.PodRef.Name, "default-gateway") {
				found++
				AddReportEntry("memory "+p.PodRef.Namespace+"/"+p.PodRef.Name, fmt.Sprintf("%.1f MiB working set", float64(p.Memory.WorkingSetBytes)/(1<<20)))
				GinkgoWriter.Printf("memory %s/%s: %.1f MiB working set\n", p.PodRef.Namespace, p.PodRef.Name, float64(p.Memory.WorkingSetBytes)/(1<<20))
			}
		}
		Expect(found).To(Equal(4))
	})

	It("enforces a policy edit in the gateway pods within 1 s", func() {
		var gws map[string]string
		Eventually(func(g Gomega) {
			gws = readyPods(g, appNS, gatewaySelector)
			g.Expect(gws).To(HaveLen(2))
		}).WithTimeout(time.Minute).Should(Succeed())
		path := "/api/v1/tenants/" + starter + analytics
		for _, ip := range gws {
			Expect(status("http://" + ip + ":8080" + path)).To(Equal(http.StatusPaymentRequired))
		}
		By("lowering analytics to the starter tier")
		patch := `[{"op":"replace","path":"/spec/features/0/minimumTier","value":"starter"}]`
		Expect(kubectl("patch", "subpol", "default", "-n", appNS, "--type=json", "-p", patch)).Error().NotTo(HaveOccurred())
		edited := time.Now()
		// Every gateway pod must allow the call (each watches the policy itself).
		Eventually(func(g Gomega) {
			for name, ip := range gws {
				code, _, err := get("http://" + ip + ":8080" + path)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(code).To(Equal(http.StatusOK), "gateway pod %s", name)
			}
		}).WithTimeout(time.Second).WithPolling(20 * time.Millisecond).Should(Succeed())
		AddReportEntry("policy edit enforced by both gateway pods", fmt.Sprintf("%v after kubectl patch returned", time.Since(edited).Round(time.Millisecond)))
		Expect(kubectl("patch", "subpol", "default", "-n", appNS, "--type=json",
			"-p", `[{"op":"replace","path":"/spec/features/0/minimumTier","value":"professional"}]`)).Error().NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			for _, ip := range gws {
				g.Expect(status("http://" + ip + ":8080" + path)).To(Equal(http.StatusPaymentRequired))
			}
		}).WithTimeout(5 * time.Second).WithPolling(50 * time.Millisecond).Should(Succeed())
	})

	It("loses no request through the gateway Service during kubectl rollout restart", func() {
		gw := "http://" + serviceIP(appNS, "default-gateway") + "/api/v1/tenants/" + pro + analytics
		ctx, stop := context.WithCancel(context.Background())
		var sent, failed atomic.Int64
		var firstErr sync.Once
		var wg sync.WaitGroup
		// Bounded load: 4 clients, one request each every 20 ms (at most 200 req/s).
		for range 4 {
			wg.Go(func() {
				tick := time.NewTicker(20 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
					}
					code, body, err := get(gw)
					sent.Add(1)
					if err != nil || code != http.StatusOK {
						failed.Add(1)
						firstErr.Do(func() { GinkgoWriter.Printf("first failure: %d %v %.200s\n", code, err, body) })
					}
				}
			})
		}
		time.Sleep(time.Second)
		_, err := kubectl("rollout", "restart", "deploy/default-gateway", "-n", appNS)
		Expect(err).NotTo(HaveOccurred())
		_, err = kubectl("rollout", "status", "deploy/default-gateway", "-n", appNS, "--timeout=3m")
		time.Sleep(2 * time.Second)
		stop()
		wg.Wait()
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("rollout restart under load", fmt.Sprintf("%d requests, %d failed", sent.Load(), failed.Load()))
		Expect(sent.Load()).To(BeNumerically(">", 100))
		Expect(failed.Load()).To(BeZero())
	})

	It("hands over to another manager replica when the leader pod is deleted, and the next scheduled run happens once", func() {
		var pods map[string]string
		Eventually(func(g Gomega) {
			pods = readyPods(g, operatorNS, managerSelector)
			g.Expect(pods).To(HaveLen(2))
		}).WithTimeout(2 * time.Minute).Should(Succeed())
		leader, err := leaseHolder()
		Expect(err).NotTo(HaveOccurred())
		Expect(pods).To(HaveKey(leader))
		// Delete the leader well inside a minute, so the hand-over (within the
		// 15 s lease) finishes before the next scheduled time.
		for time.Now().Second() > 20 {
			time.Sleep(time.Second)
		}
		Expect(kubectl("delete", "pod", leader, "-n", operatorNS, "--wait=false")).Error().NotTo(HaveOccurred())
		var newLeader string
		Eventually(func(g Gomega) {
			h, err := leaseHolder()
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(h).NotTo(Equal(leader))
			g.Expect(h).NotTo(BeEmpty())
			newLeader = h
		}).WithTimeout(40 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
		// The deleted leader releases the Lease on SIGTERM (ReleaseOnCancel), so
		// whichever replica asks first wins: the standby, which retries every 2 s,
		// or the Deployment's replacement pod, which asks as soon as it starts.
		// Both are correct; what matters is one live holder and one run below.
		taker := "the replacement pod"
		if _, ok := pods[newLeader]; ok {
			taker = "the standby replica"
		}
		// Every manager pod now alive (the new leader and the other replica).
		var all map[string]string
		Eventually(func(g Gomega) {
			all = readyPods(g, operatorNS, managerSelector)
			g.Expect(all).To(HaveLen(2))
			g.Expect(all).NotTo(HaveKey(leader))
		}).WithTimeout(2 * time.Minute).Should(Succeed())
		Expect(all).To(HaveKey(newLeader), "the Lease holder must be a live manager pod")
		Expect(leaseHolder()).To(Equal(newLeader), "the Lease must stay with one holder")
		// Count from well before the next minute boundary to 30 s after it: exactly one run.
		if time.Now().Second() > 50 {
			time.Sleep(time.Until(time.Now().Truncate(time.Minute).Add(time.Minute + 30*time.Second)))
		}
		before, err := snapshotRuns(all)
		Expect(err).NotTo(HaveOccurred())
		next := time.Now().Truncate(time.Minute).Add(time.Minute)
		time.Sleep(time.Until(next.Add(30 * time.Second)))
		after, err := snapshotRuns(all)
		Expect(err).NotTo(HaveOccurred())
		Expect(after-before).To(BeNumerically("==", 1), "runs across both replicas for the scheduled time %s", next.Format(time.TimeOnly))
		Expect(leaseHolder()).To(Equal(newLeader), "no second hand-over")
		AddReportEntry("leader hand-over", fmt.Sprintf("%s -> %s (%s); scheduled runs at %s across both replicas: %v", leader, newLeader, taker, next.Format(time.TimeOnly), after-before))
	})
})
