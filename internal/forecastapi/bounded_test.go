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
	"golang.org/x/time/rate"
	"k8s.io/client-go/rest"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
)

// startServer serves a new API on the suite's manager cache until the spec
// ends and returns its base URL.
func startServer(cfg *rest.Config, opts ...forecastapi.Option) (*forecastapi.Server, string) {
	GinkgoHelper()
	l, url := listen()
	opts = append([]forecastapi.Option{forecastapi.WithListener(l), forecastapi.WithLogger(GinkgoLogr)}, opts...)
	srv, err := forecastapi.New(mgr.GetCache(), cfg, store, opts...)
	Expect(err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	DeferCleanup(func() {
		cancel()
		Eventually(done, 30*time.Second).Should(Receive(BeNil()))
	})
	Eventually(func() int { return get(url+"/nothing-here", "").status }, 30*time.Second, 50*time.Millisecond).
		Should(Equal(http.StatusNotFound))
	return srv, url
}

// gatedSnapshotter counts runs; every run waits until the gate is opened.
type gatedSnapshotter struct {
	runs atomic.Int64
	gate chan struct{}
}

func (g *gatedSnapshotter) RunNow(context.Context, *subv1.SubscriptionPolicy, string) (snapshot.Result, error) {
	n := g.runs.Add(1)
	<-g.gate
	return snapshot.Result{Date: "2025-01-19", Tenants: int(n), Succeeded: 1, FailedMetrics: map[string]error{}}, nil
}

var _ = Describe("bounded work", func() {
	It("joins 200 concurrent track-usage requests for one tenant into at most 2 runs", func() {
		sn := &gatedSnapshotter{gate: make(chan struct{})}
		srv, url := startServer(nil, forecastapi.WithoutAuth(), forecastapi.WithSnapshotter(sn),
			forecastapi.WithTrackUsageRateLimit(rate.Inf, 0))
		const n = 200
		client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: n, MaxIdleConnsPerHost: n}}
		var wg sync.WaitGroup
		bodies := make([]string, n)
		codes := make([]int, n)
		for i := range n {
			wg.Go(func() {
				defer GinkgoRecover()
				resp, err := client.Post(url+forecastapi.PathTrackUsage, "application/json", strings.NewReader(`{"tenant_id":"track-me"}`))
				Expect(err).NotTo(HaveOccurred())
				defer func() { _ = resp.Body.Close() }()
				b, err := io.ReadAll(resp.Body)
				Expect(err).NotTo(HaveOccurred())
				codes[i], bodies[i] = resp.StatusCode, string(b)
			})
		}
		Eventually(func() int64 { return forecastapi.TrackRunsJoined(srv) }, 60*time.Second).Should(Equal(int64(n)))
		Expect(sn.runs.Load()).To(Equal(int64(1)))
		close(sn.gate)
		wg.Wait()
		Expect(sn.runs.Load()).To(BeNumerically("<=", 2))
		distinct := map[string]int{}
		for i := range n {
			Expect(codes[i]).To(Equal(http.StatusOK), bodies[i])
			distinct[bodies[i]]++
		}
		// Every caller got the answer of the run it joined: one per run.
		Expect(len(distinct)).To(BeNumerically("<=", 2), fmt.Sprint(distinct))
	})

	It("answers a flood of track-usage requests from one caller with 429 and Retry-After", func() {
		// Its own runner: the suite's writes history, which other specs read.
		open := &gatedSnapshotter{gate: make(chan struct{})}
		close(open.gate)
		_, url := startServer(nil, forecastapi.WithoutAuth(), forecastapi.WithSnapshotter(open))
		var limited []response
		for range 3 * forecastapi.DefaultTrackUsageBurst {
			r := do(http.MethodPost, url+forecastapi.PathTrackUsage, "", `{"tenant_id":"track-me"}`)
			if r.status == http.StatusTooManyRequests {
				limited = append(limited, r)
				continue
			}
			Expect(r.status).To(Equal(http.StatusOK), string(r.body))
		}
		Expect(len(limited)).To(BeNumerically(">=", 2*forecastapi.DefaultTrackUsageBurst-1))
		for _, r := range limited {
			Expect(r.errorCode()).To(Equal(forecastapi.CodeRateLimited))
			Expect(r.header.Get("Content-Type")).To(Equal("application/json"))
			Expect(r.header.Get("X-Content-Type-Options")).To(Equal("nosniff"))
			secs, err := strconv.Atoi(r.header.Get("Retry-After"))
			Expect(err).NotTo(HaveOccurred(), "Retry-After %q", r.header.Get("Retry-After"))
			Expect(secs).To(BeNumerically(">=", 1))
			Expect(secs).To(BeNumerically("<=", 6))
		}
	})
})

// reviewCounter counts the TokenReviews the API sends, at its client.
func reviewCounter(n *atomic.Int64) *rest.Config {
	cfg := rest.CopyConfig(kube.Config)
	cfg.QPS, cfg.Burst = -1, 0 // what controller-runtime v0.25 leaves in the manager's config
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/tokenreviews") {
				n.Add(1)
			}
			return rt.RoundTrip(r)
		})
	}
	return cfg
}

var _ = Describe("TokenReview limits", func() {
	It("sends no more TokenReviews for 1,000 distinct garbage tokens than 100/s with a burst of 200 allows", func() {
		var reviews atomic.Int64
		_, url := startServer(reviewCounter(&reviews))
		const n = 1000
		// All at once (up to the server's connection cap): more arrive than
		// the limit lets through in the 5 s a review may wait.
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
		var wg sync.WaitGroup
		var unauthorized, unavailable, other atomic.Int64
		start := time.Now()
		for i := range n {
			wg.Go(func() {
				defer GinkgoRecover()
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, forecastURL(url, "tenant_id=tenant-a"), nil)
				req.Header.Set("Authorization", fmt.Sprintf("Bearer garbage-%d-%d", GinkgoRandomSeed(), i))
				resp, err := client.Do(req)
				if err != nil {
					other.Add(1)
					return
				}
				_ = resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusUnauthorized:
					unauthorized.Add(1)
				case http.StatusServiceUnavailable:
					Expect(resp.Header.Get("Retry-After")).NotTo(BeEmpty())
					unavailable.Add(1)
				default:
					other.Add(1)
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		allowed := float64(forecastapi.DefaultReviewBurst) + forecastapi.DefaultReviewQPS*elapsed.Seconds()
		GinkgoWriter.Printf("%d garbage tokens in %s: %d TokenReviews (limit allows %.0f), %d x 401, %d x 503\n",
			n, elapsed.Round(time.Millisecond), reviews.Load(), allowed, unauthorized.Load(), unavailable.Load())
		Expect(other.Load()).To(BeZero())
		Expect(unauthorized.Load() + unavailable.Load()).To(Equal(int64(n)))
		Expect(float64(reviews.Load())).To(BeNumerically("<=", allowed))
	})

	It("reviews a garbage token sent again and again once", func() {
		var reviews atomic.Int64
		_, url := startServer(reviewCounter(&reviews))
		token := fmt.Sprintf("garbage-again-%d", GinkgoRandomSeed())
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				defer GinkgoRecover()
				Expect(get(forecastURL(url, "tenant_id=tenant-a"), token).status).To(Equal(http.StatusUnauthorized))
			})
		}
		wg.Wait()
		for range 50 {
			Expect(get(forecastURL(url, "tenant_id=tenant-a"), token).status).To(Equal(http.StatusUnauthorized))
		}
		Expect(reviews.Load()).To(Equal(int64(1)))
	})
})
