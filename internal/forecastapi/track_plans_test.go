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

package forecastapi_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
	"github.com/bakery-ia/subscription-operator/internal/history"
)

var _ = Describe("POST /api/v1/usage-forecast/track-usage", func() {
	It("runs a snapshot for one tenant and serves the new history at once", func() {
		url := forecastURL(openURL, "tenant_id=track-me")
		Expect(lastProducts(get(url, "").body)).To(Equal(int64(-1))) // no history yet; now cached

		r := do(http.MethodPost, openURL+forecastapi.PathTrackUsage, "", `{"tenant_id":"track-me"}`)
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		Expect(string(r.body)).To(MatchJSON(`{"date":"2025-01-19","tenants":1,"succeeded":1,"failed":0,"failed_metrics":[],"duration_ms":42}`))
		Expect(snaps.last()).To(Equal(snapCall{policy: nsMain + "/default", tenantID: "track-me"}))

		// Same resourceVersion, TTL not over: only the invalidation explains a fresh read.
		Expect(lastProducts(get(url, "").body)).To(Equal(int64(999)))
	})

	It("accepts a namespace to choose between tenants with the same ID", func() {
		r := do(http.MethodPost, openURL+forecastapi.PathTrackUsage, "", `{"tenant_id":"twin","namespace":"twin-b"}`)
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		Expect(snaps.last()).To(Equal(snapCall{policy: nsTwinB + "/shared", tenantID: "twin"}))
	})

	It("runs a snapshot for every tenant of a policy and reports failed metrics", func() {
		r := do(http.MethodPost, openURL+forecastapi.PathTrackUsage, "", `{"policy":"default","namespace":"bakery-ia"}`)
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		Expect(string(r.body)).To(MatchJSON(`{"date":"2025-01-19","tenants":3,"succeeded":0,"failed":3,
			"failed_metrics":["api_calls","users"],"duration_ms":1234}`))
		Expect(snaps.last()).To(Equal(snapCall{policy: nsMain + "/default", tenantID: ""}))
	})
})

var _ = Describe("GET /api/v1/plans", func() {
	It("answers the plan comparison table", func() {
		r := get(openURL+forecastapi.PathPlans+"?namespace="+nsMain, "")
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		expectGolden("plans.golden", r.body)
	})

	It("finds a policy by name in the one namespace that has it", func() {
		r := get(openURL+forecastapi.PathPlans+"?policy=solo", "")
		Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		Expect(string(r.body)).To(HavePrefix(`{"namespace":"bakery-ia","policy":"solo",`))
	})
})

var _ = Describe("metrics", func() {
	It("records http_request_duration_seconds by endpoint and code in the manager's registry", func() {
		get(forecastURL(openURL, "tenant_id=test-tenant"), "")
		get(openURL+forecastapi.PathPlans+"?policy=nope", "")
		do(http.MethodGet, openURL+forecastapi.PathTrackUsage, "", "")
		families, err := ctrlmetrics.Registry.Gather()
		Expect(err).NotTo(HaveOccurred())
		var fam *dto.MetricFamily
		for _, f := range families {
			if f.GetName() == "http_request_duration_seconds" {
				fam = f
			}
		}
		Expect(fam).NotTo(BeNil())
		seen := map[string]uint64{}
		for _, m := range fam.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			seen[labels["endpoint"]+" "+labels["code"]] += m.GetHistogram().GetSampleCount()
		}
		Expect(seen).To(HaveKeyWithValue("/usage-forecast 200", BeNumerically(">", 0)))
		Expect(seen).To(HaveKeyWithValue("/plans 404", BeNumerically(">", 0)))
		Expect(seen).To(HaveKeyWithValue("/track-usage 405", BeNumerically(">", 0)))
	})
})

var _ = Describe("lifecycle", func() {
	It("serves on every replica (no leader election)", func() {
		srv, err := forecastapi.New(mgr.GetCache(), nil, store, forecastapi.WithoutAuth())
		Expect(err).NotTo(HaveOccurred())
		Expect(srv.NeedLeaderElection()).To(BeFalse())
	})

	It("warns that auth is off, finishes requests in flight and stops when the context ends", func() {
		l, url := listen()
		logs := &logBuffer{}
		slow := &slowHistory{started: make(chan struct{}), release: make(chan struct{})}
		srv, err := forecastapi.New(mgr.GetCache(), nil, slow,
			forecastapi.WithoutAuth(), forecastapi.WithListener(l), forecastapi.WithLogger(logs.logger()))
		Expect(err).NotTo(HaveOccurred())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- srv.Start(ctx) }()
		Eventually(logs.String).Should(ContainSubstring("forecast API serving"))
		Expect(logs.String()).To(ContainSubstring("DISABLED"))

		inFlight := make(chan response, 1)
		go func() {
			defer GinkgoRecover()
			inFlight <- get(forecastURL(url, "tenant_id=test-tenant"), "")
		}()
		Eventually(slow.started).Should(BeClosed())
		cancel()
		Consistently(done, 200*time.Millisecond).ShouldNot(Receive()) // waits for the request
		close(slow.release)
		var r response
		Eventually(inFlight).Should(Receive(&r))
		Expect(r.status).To(Equal(http.StatusOK))
		Eventually(done, 10*time.Second).Should(Receive(BeNil()))
		_, err = net.DialTimeout("tcp", strings.TrimPrefix(url, "http://"), time.Second)
		Expect(err).To(HaveOccurred())
	})
})

// slowHistory blocks a read until released.
type slowHistory struct {
	started, release chan struct{}
}

func (h *slowHistory) Read(ctx context.Context, tenantID string, metrics []string, today string, days int) (map[string][]history.Point, error) {
	close(h.started)
	<-h.release
	return store.Read(ctx, tenantID, metrics, today, days)
}
