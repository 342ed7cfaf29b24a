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

package e2e

import (
	"encoding/json"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bakery-ia/subscription-operator/test/scenario"
)

const ns = scenario.Namespace

var _ = Describe("the demo scenario", Ordered, func() {
	var (
		leader  *manager
		gateway *process
		gwPort  int
	)

	BeforeAll(func() {
		By("starting one manager (with leader election when bin/manager supports it outside a cluster) and the gateway")
		leader = startManager("a", leaderElectionNamespaceFlag())
		gwPort = freePort()
		gwMetrics := freePort()
		gateway = start("gateway",
			"--kubeconfig="+kube.Kubeconfig, "--namespace="+ns, "--policy=default",
			"--listen="+addr(gwPort), "--forward-auth-listen="+addr(freePort()),
			"--metrics-listen="+addr(gwMetrics), "--redis-url="+rdb.URL, "--upstream="+upstream.URL)
		Eventually(func(g Gomega) {
			g.Expect(gateway.running()).To(BeTrue(), "gateway exited:\n%s", tail(gateway.out.String(), 2048))
			g.Expect(status(url(gwMetrics, "/readyz"))).To(Equal(http.StatusOK))
		}).WithTimeout(60 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())
		Expect(kubectl("wait", "-n", ns, "--for=condition=Ready", "subpol/default", "--timeout=60s")).Error().NotTo(HaveOccurred())
	})

	It("runs a snapshot through the forecast API and forecasts all 50 tenants", func() {
		resp, err := httpClient.Post(url(leader.api, "/api/v1/usage-forecast/track-usage"), "application/json",
			strings.NewReader(`{"policy":"default","namespace":"`+ns+`"}`))
		Expect(err).NotTo(HaveOccurred())
		b := body(resp)
		Expect(resp.StatusCode).To(Equal(http.StatusOK), string(b))
		var track struct {
			Date          string   `json:"date"`
			Tenants       int      `json:"tenants"`
			Succeeded     int      `json:"succeeded"`
			Failed        int      `json:"failed"`
			FailedMetrics []string `json:"failed_metrics"`
		}
		Expect(json.Unmarshal(b, &track)).To(Succeed())
		Expect(track.Date).To(Equal(data.Today))
		Expect(track.Tenants).To(Equal(50))
		Expect(track.Succeeded).To(Equal(50), "failed metrics: %v", track.FailedMetrics)

		Eventually(func(g Gomega) {
			out, err := kubectl("get", "tu", "-n", ns, "-o", `jsonpath={range .items[*]}{.status.lastSnapshotDate}{"\n"}{end}`)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(strings.Count(out, data.Today+"\n")).To(Equal(50))
		}).WithTimeout(60 * time.Second).WithPolling(500 * time.Millisecond).Should(Succeed())
	})

	It("shows the capacity dashboard in kubectl get tu", func() {
		out, err := kubectl("get", "tu", "-n", ns)
		Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(strings.TrimSpace(out), "\n")
		Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "TENANT", "TIER", "STATUS", "DAYS-LEFT", "METRIC", "LAST-SNAPSHOT", "AGE"}))
		Expect(lines).To(HaveLen(51))
		rows := map[string][]string{}
		statuses := map[string]int{}
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			rows[f[0]] = f
			statuses[f[3]]++
		}
		GinkgoWriter.Printf("statuses: %v\n%s\n", statuses, out)
		// The data set has every shape: enterprise is unlimited, over-limit
		// and about-to-breach tenants are critical, calm ones safe.
		Expect(statuses).To(HaveKey("unlimited"))
		Expect(statuses).To(HaveKey("critical"))
		Expect(statuses).To(HaveKey("safe"))
		Expect(statuses["unlimited"]).To(Equal(5))

		starter := rows[scenario.StarterTenant]
		Expect(starter).NotTo(BeNil())
		Expect(starter[1:4]).To(Equal([]string{scenario.StarterTenant, "starter", "critical"}))
		Expect(starter).To(ContainElement(data.Today))

		wide, err := kubectl("get", "tu", "-n", ns, "-o", "wide", scenario.ProfessionalTenant)
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Fields(strings.Split(wide, "\n")[0])).To(ContainElements("READY", "POLICY"))
		Expect(wide).To(MatchRegexp(`True\s+default`))
	})

	It("shows the policy in kubectl get subpol", func() {
		out, err := kubectl("get", "subpol", "-n", ns)
		Expect(err).NotTo(HaveOccurred())
		lines := strings.Split(strings.TrimSpace(out), "\n")
		Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "TIERS", "TENANTS", "NEXT-SNAPSHOT", "READY", "AGE"}))
		Expect(lines).To(HaveLen(2))
		f := strings.Fields(lines[1])
		Expect(f[0]).To(Equal("default"))
		Expect(f[1]).To(And(ContainSubstring("starter"), ContainSubstring("professional"), ContainSubstring("enterprise")))
		Expect(f[2]).To(Equal("50"))
		Expect(f[4]).To(Equal("True"))
	})

	It("answers the forecast API in the seed's JSON shape", func() {
		resp, err := get(url(leader.api, "/api/v1/usage-forecast?tenant_id="+scenario.StarterTenant))
		Expect(err).NotTo(HaveOccurred())
		b := body(resp)
		Expect(resp.StatusCode).To(Equal(http.StatusOK), string(b))
		Expect(resp.Header.Get("Content-Type")).To(HavePrefix("application/json"))
		var doc map[string]any
		Expect(json.Unmarshal(b, &doc)).To(Succeed())
		Expect(doc).To(HaveKeyWithValue("tenant_id", scenario.StarterTenant))
		Expect(doc).To(HaveKey("forecasted_at"))
		metrics, ok := doc["metrics"].([]any)
		Expect(ok).To(BeTrue(), string(b))
		Expect(metrics).To(HaveLen(len(data.Policy.Spec.Metrics)))
		var products map[string]any
		for _, m := range metrics {
			m := m.(map[string]any)
			Expect(m).To(HaveKey("metric"))
			for _, k := range []string{"label", "current", "limit", "unit", "daily_growth_rate", "predicted_breach_date",
				"days_until_breach", "predicted_breach_earliest", "predicted_breach_latest", "usage_percentage", "status", "trend_data"} {
				Expect(m).To(HaveKey(k), "metric %v lacks %s", m["metric"], k)
			}
			if m["metric"] == "products" {
				products = m
			}
		}
		Expect(products).NotTo(BeNil())
		today := data.Values[scenario.StarterTenant]["products"][scenario.HistoryDays]
		Expect(products["current"]).To(BeNumerically("==", today))
		Expect(products["limit"]).To(BeNumerically("==", 50))
		Expect(products["status"]).To(Equal("critical"))
		Expect(products["daily_growth_rate"]).To(BeNumerically(">", 0))
		trend := products["trend_data"].([]any)
		Expect(len(trend)).To(BeNumerically(">=", 28))
		last := trend[len(trend)-1].(map[string]any)
		Expect(last).To(HaveKeyWithValue("date", data.Today))
		Expect(last["value"]).To(BeNumerically("==", today))
	})

	It("answers 402 with the upgrade offer when a starter tenant calls a professional feature", func() {
		resp, err := get(url(gwPort, "/api/v1/tenants/"+scenario.StarterTenant+"/forecasting/analytics/advanced"), "Accept-Language", "es")
		Expect(err).NotTo(HaveOccurred())
		b := body(resp)
		Expect(resp.StatusCode).To(Equal(http.StatusPaymentRequired), string(b))
		var doc struct {
			Error      string `json:"error"`
			Code       string `json:"code"`
			StatusCode int    `json:"status_code"`
			Details    struct {
				RequiredFeature string           `json:"required_feature"`
				MinimumTier     string           `json:"minimum_tier"`
				CurrentTier     string           `json:"current_tier"`
				Title           string           `json:"title"`
				Benefits        []map[string]any `json:"benefits"`
				ROIEstimate     map[string]any   `json:"roi_estimate"`
				UpgradeURL      string           `json:"upgrade_url"`
			} `json:"details"`
		}
		Expect(json.Unmarshal(b, &doc)).To(Succeed(), string(b))
		Expect(doc.Error).To(Equal("subscription_tier_insufficient"))
		Expect(doc.Code).To(Equal("SUBSCRIPTION_UPGRADE_REQUIRED"))
		Expect(doc.StatusCode).To(Equal(402))
		Expect(doc.Details.RequiredFeature).To(Equal("analytics"))
		Expect(doc.Details.MinimumTier).To(Equal("professional"))
		Expect(doc.Details.CurrentTier).To(Equal("starter"))
		Expect(doc.Details.Title).To(Equal("Desbloquea la Analítica Avanzada"))
		Expect(doc.Details.Benefits).To(HaveLen(3))
		Expect(doc.Details.ROIEstimate).To(HaveKeyWithValue("monthly_savings_min", BeNumerically("==", 800)))
		Expect(doc.Details.UpgradeURL).To(ContainSubstring("upgrade=professional&from=starter&feature=analytics"))
	})

	It("proxies the same call of a professional tenant to the upstream", func() {
		path := "/api/v1/tenants/" + scenario.ProfessionalTenant + "/forecasting/analytics/advanced"
		resp, err := get(url(gwPort, path))
		Expect(err).NotTo(HaveOccurred())
		b := body(resp)
		Expect(resp.StatusCode).To(Equal(http.StatusOK), string(b))
		Expect(string(b)).To(MatchJSON(`{"upstream":"bakery-api","path":"` + path + `"}`))
	})

	It("serves the tenant's usage page from the gateway and the operators' list from the forecast API", func() {
		today := data.Values[scenario.StarterTenant]["products"][scenario.HistoryDays]
		// The gateway sees the forecast through its own watch: allow it a moment.
		Eventually(func(g Gomega) {
			resp, err := get(url(gwPort, "/_subscription/usage/"+scenario.StarterTenant), "Accept-Language", "es")
			g.Expect(err).NotTo(HaveOccurred())
			b := string(body(resp))
			g.Expect(resp.StatusCode).To(Equal(http.StatusOK), b)
			g.Expect(resp.Header.Get("Content-Type")).To(Equal("text/html; charset=utf-8"))
			g.Expect(resp.Header.Get("Content-Security-Policy")).To(HavePrefix("default-src 'none'; style-src 'sha256-"))
			g.Expect(b).To(ContainSubstring(`<html lang="es">`))
			g.Expect(b).To(ContainSubstring(`id="tenant">` + scenario.StarterTenant + `<`))
			g.Expect(b).To(MatchRegexp(`(?s)data-metric="products".*?<data class="current" value="%d">`, today))
			g.Expect(b).To(ContainSubstring("<polyline"), "30-day sparklines from the history in Redis")
			g.Expect(b).To(ContainSubstring(`data-feature="analytics" data-included="false"`))
		}).WithTimeout(10 * time.Second).WithPolling(200 * time.Millisecond).Should(Succeed())

		resp, err := get(url(leader.api, "/usage?namespace="+ns))
		Expect(err).NotTo(HaveOccurred())
		b := string(body(resp))
		Expect(resp.StatusCode).To(Equal(http.StatusOK), b)
		Expect(strings.Count(b, `<tr class="tenant"`)).To(Equal(50))
	})

	It("keeps usage-tracker's exit codes: 0 when every metric was recorded", func() {
		cmd := exec.Command(binDir+"/usage-tracker", "--namespace="+ns, "--policy=default",
			"--redis-url="+rdb.URL, "--database-url="+pg.DSN)
		cmd.Env = append(cmd.Environ(), "KUBECONFIG="+kube.Kubeconfig)
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(ContainSubstring("Daily Usage Tracking Complete"))
		Expect(string(out)).To(MatchRegexp(`Tenants: 50 total\s+Success: 50 tenants tracked\s+Errors: 0 tenants failed`))
	})

	It("runs scheduled snapshots on the leader only, and on the other replica after a hand-over", func() {
		Expect(leaderElectionNamespaceFlag()).To(BeTrue(),
			"bin/manager needs --leader-election-namespace (env POD_NAMESPACE) to elect a leader outside a cluster")
		standby := startManager("b", true)
		// Controllers start only on the replica that holds the Lease.
		leading := regexp.MustCompile(`"msg":"Starting workers"`)
		Expect(leader.out.String()).To(MatchRegexp(leading.String()), "the first replica should lead")
		Consistently(standby.out.String).WithTimeout(3 * time.Second).ShouldNot(MatchRegexp(leading.String()))

		before, err := snapshotRuns(leader, "success", "partial")
		Expect(err).NotTo(HaveOccurred())
		By("running the snapshot every minute")
		Expect(kubectl("patch", "subpol", "default", "-n", ns, "--type=merge",
			"-p", `{"spec":{"snapshot":{"schedule":"* * * * *"}}}`)).Error().NotTo(HaveOccurred())
		Eventually(func() (float64, error) { return snapshotRuns(leader, "success", "partial") }).
			WithTimeout(150 * time.Second).WithPolling(time.Second).Should(BeNumerically(">", max(before, 0)))
		Consistently(func() (float64, error) { return snapshotRuns(standby) }).
			WithTimeout(5*time.Second).WithPolling(time.Second).Should(BeNumerically("==", -1), "the standby replica must not run snapshots")
		Expect(standby.out.String()).NotTo(MatchRegexp(leading.String()))

		By("stopping the leader: the standby takes over and runs the next snapshot")
		leader.stop()
		Eventually(standby.out.String).WithTimeout(60 * time.Second).Should(MatchRegexp(leading.String()))
		Eventually(func() (float64, error) { return snapshotRuns(standby, "success", "partial") }).
			WithTimeout(150 * time.Second).WithPolling(time.Second).Should(BeNumerically(">", 0))
	})
})
