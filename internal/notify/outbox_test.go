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

package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"k8s.io/utils/clock"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/bakery-ia/subscription-operator/internal/testenv"
)

// srv is the package's Redis; tests use distinct sink ids and tenants.
var srv *testenv.Redis

func TestMain(m *testing.M) {
	var err error
	if srv, err = testenv.StartRedis(); err != nil {
		fmt.Fprintln(os.Stderr, "notify tests need redis-server:", err)
		os.Exit(1)
	}
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

func newClient(t testing.TB) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func testCtx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// sinkID is a sink id unique to the test.
func sinkID(t testing.TB, suffix string) string {
	r := strings.NewReplacer("/", "-", "_", "-", " ", "-", "=", "-")
	return "ns/" + strings.ToLower(r.Replace(t.Name())) + "/" + suffix
}

// receiver is a webhook endpoint on loopback that verifies every request
// with the Standard Webhooks reference library and records it.
type receiver struct {
	t       testing.TB
	srv     *httptest.Server
	wh      *standardwebhooks.Webhook
	fail    atomic.Int64 // answer 503 to this many more requests
	mu      sync.Mutex
	seen    map[string]int // event id -> delivered (2xx) count
	tries   map[string]int // event id -> requests
	bodies  map[string][]byte
	badSigs int
}

func newReceiver(t testing.TB, failFirst int64) *receiver {
	wh, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{t: t, wh: wh, seen: map[string]int{}, tries: map[string]int{}, bodies: map[string][]byte{}}
	r.fail.Store(failFirst)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id := req.Header.Get(HeaderID)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.tries[id]++
		// Fake clocks put the timestamp far from the wall clock; the
		// signature itself is what is checked here (TestSignatureOnTheWire
		// checks the timestamp too).
		if err := wh.VerifyIgnoringTimestamp(body, req.Header); err != nil || req.Header.Get("Content-Type") != ContentType {
			r.badSigs++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if r.fail.Add(-1) >= 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		r.seen[id]++
		r.bodies[id] = body
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) delivered() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]int, len(r.seen))
	for k, v := range r.seen {
		out[k] = v
	}
	return out
}

func (r *receiver) sink(t testing.TB, id string) Sink {
	s, err := NewSigner(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	return Sink{ID: id, URL: r.srv.URL + "/hooks", Signer: s, Headers: http.Header{"X-Tenant-Team": {"cs"}}}
}

// event returns a distinct valid event.
func event(i int) Event {
	s := sampleSubject()
	s.Tenant = fmt.Sprintf("tenant-%05d", i)
	ev, err := NewEvent(s, Condition{Kind: KindLimitReached}, Transition{Type: LimitReached, Episode: 1, Seq: 1}, time.Unix(1737252003, 0))
	if err != nil {
		panic(err)
	}
	return ev
}

func setup(t testing.TB, clk clock.Clock, sinks ...Sink) (*Outbox, *Worker, *Metrics) {
	o := NewOutbox(newClient(t), clk)
	w := NewWorker(o, func() []Sink { return sinks })
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	w.Metrics = m
	return o, w, m
}

func mustEnqueue(t testing.TB, o *Outbox, ds ...Delivery) int {
	t.Helper()
	n, err := o.Enqueue(testCtx(t), ds)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func runOnce(t testing.TB, w *Worker) int {
	t.Helper()
	n, err := w.RunOnce(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestEnqueueIsIdempotentPerEventID(t *testing.T) {
	rcv := newReceiver(t, 0)
	sink := rcv.sink(t, sinkID(t, "a"))
	o, w, _ := setup(t, clock.RealClock{}, sink)
	d := Delivery{Sink: sink.ID, Event: event(1)}
	if n := mustEnqueue(t, o, d, d); n != 1 {
		t.Fatalf("first enqueue added %d, want 1", n)
	}
	if n := mustEnqueue(t, o, d); n != 0 {
		t.Fatalf("pending event enqueued again (%d)", n)
	}
	runOnce(t, w)
	if n := mustEnqueue(t, o, d); n != 0 {
		t.Fatalf("delivered event enqueued again (%d)", n)
	}
	runOnce(t, w)
	if got := rcv.delivered(); len(got) != 1 || got[d.Event.ID] != 1 {
		t.Fatalf("deliveries %v, want one of %s", got, d.Event.ID)
	}
}

// TestRetriedUntilDeliveredOnce: the receiver fails the first 3 attempts;
// the worker retries on Svix's schedule (in fake time) and each event is
// delivered exactly once, with the same id on every attempt.
func TestRetriedUntilDeliveredOnce(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	rcv := newReceiver(t, 3*5)
	sink := rcv.sink(t, sinkID(t, "a"))
	o, w, m := setup(t, clk, sink)
	var ds []Delivery
	for i := range 5 {
		ds = append(ds, Delivery{Sink: sink.ID, Event: event(i)})
	}
	mustEnqueue(t, o, ds...)
	runOnce(t, w) // attempt 1 of each: 503
	for _, step := range []time.Duration{4 * time.Second, time.Second, 5 * time.Minute, 30 * time.Minute} {
		clk.Step(step)
		runOnce(t, w)
	}
	got := rcv.delivered()
	for _, d := range ds {
		if got[d.Event.ID] != 1 {
			t.Errorf("%s delivered %d times", d.Event.ID, got[d.Event.ID])
		}
		if rcv.tries[d.Event.ID] != 4 {
			t.Errorf("%s tried %d times, want 4 (3 failures then success)", d.Event.ID, rcv.tries[d.Event.ID])
		}
	}
	if rcv.badSigs != 0 {
		t.Errorf("%d requests failed the reference verifier", rcv.badSigs)
	}
	st, err := o.Status(testCtx(t), sink.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 0 || st.ConsecutiveFailures != 0 || st.LastSuccess == nil || !strings.Contains(st.LastError, "503") {
		t.Errorf("status %+v", st)
	}
	for result, want := range map[string]float64{"delivered": 5, "failed": 15} {
		if got := testutil.ToFloat64(m.Notifications.WithLabelValues(sink.ID, "limit_reached", result)); got != want {
			t.Errorf("subscription_notifications_total{result=%q} = %v, want %v", result, got, want)
		}
	}
}

// TestPendingSurvivesRestart: deliveries enqueued by one process are
// delivered by a new one on the same Redis, with the same id; a delivery
// claimed by a worker that then died is delivered once its lease ends.
func TestPendingSurvivesRestart(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	rcv := newReceiver(t, 0)
	sink := rcv.sink(t, sinkID(t, "a"))
	first, _, _ := setup(t, clk, sink)
	a, b := Delivery{Sink: sink.ID, Event: event(1)}, Delivery{Sink: sink.ID, Event: event(2)}
	mustEnqueue(t, first, a, b)
	// The first process claims b, then dies before attempting it.
	if cs, err := first.claim(testCtx(t), sink.ID, clk.Now(), clk.Now().Add(45*time.Second), 1); err != nil || len(cs) != 1 {
		t.Fatalf("claim: %v %v", cs, err)
	}
	_ = first.rdb.Close()

	_, second, _ := setup(t, clk, sink)
	runOnce(t, second)
	got := rcv.delivered()
	if len(got) != 1 {
		t.Fatalf("after restart: %v, want only the unclaimed event", got)
	}
	clk.Step(46 * time.Second) // the dead worker's lease ends
	runOnce(t, second)
	got = rcv.delivered()
	if got[a.Event.ID] != 1 || got[b.Event.ID] != 1 || len(got) != 2 {
		t.Fatalf("deliveries %v, want %s and %s once each", got, a.Event.ID, b.Event.ID)
	}
}

// TestOnlyTheLeaderDelivers: two workers on one Redis, one of them the
// leader, both running passes concurrently: one delivery per event. Then
// both believe they lead (a split brain during a lease handover): the
// claim lease still gives one delivery per event.
func TestOnlyTheLeaderDelivers(t *testing.T) {
	for _, bothLead := range []bool{false, true} {
		t.Run(fmt.Sprintf("bothLead=%v", bothLead), func(t *testing.T) {
			rcv := newReceiver(t, 0)
			sink := rcv.sink(t, sinkID(t, "a"))
			o, leader, _ := setup(t, clock.RealClock{}, sink)
			_, follower, _ := setup(t, clock.RealClock{}, sink)
			leader.IsLeader = func() bool { return true }
			follower.IsLeader = func() bool { return bothLead }
			var ds []Delivery
			for i := range 300 {
				ds = append(ds, Delivery{Sink: sink.ID, Event: event(i)})
			}
			mustEnqueue(t, o, ds...)
			var wg sync.WaitGroup
			var followerAttempts atomic.Int64
			for _, w := range []*Worker{leader, follower} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range 5 {
						n, _ := w.RunOnce(context.Background())
						if w == follower {
							followerAttempts.Add(int64(n))
						}
					}
				}()
			}
			wg.Wait()
			got := rcv.delivered()
			if len(got) != len(ds) {
				t.Fatalf("%d of %d events delivered", len(got), len(ds))
			}
			for id, n := range got {
				if n != 1 {
					t.Errorf("%s delivered %d times", id, n)
				}
			}
			if !bothLead && followerAttempts.Load() != 0 {
				t.Errorf("the follower attempted %d deliveries", followerAttempts.Load())
			}
		})
	}
}

// TestReceiverDownLongerThanTheWindow: every attempt fails. The event
// stays in the outbox through all eight attempts (about 27 h 35 min),
// the sink is reported failing, and only the last failure expires it.
func TestReceiverDownLongerThanTheWindow(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	rcv := newReceiver(t, 1<<40)
	sink := rcv.sink(t, sinkID(t, "a"))
	o, w, m := setup(t, clk, sink)
	d := Delivery{Sink: sink.ID, Event: event(1)}
	mustEnqueue(t, o, d)
	ctx := testCtx(t)
	var total time.Duration
	for i, delay := range DefaultSchedule {
		clk.Step(delay)
		total += delay
		// Just before the attempt is due, nothing is attempted.
		if n := runOnce(t, w); n != 1 {
			t.Fatalf("attempt %d (t+%s): %d attempted, want 1", i+1, total, n)
		}
		st, err := o.Status(ctx, sink.ID)
		if err != nil {
			t.Fatal(err)
		}
		if i < len(DefaultSchedule)-1 {
			if st.Pending != 1 || st.ConsecutiveFailures != int64(i+1) || !st.Failing(3) == (i >= 2) {
				t.Fatalf("after attempt %d: %+v", i+1, st)
			}
			if i+1 < len(DefaultSchedule) {
				clk.Step(DefaultSchedule[i+1] - time.Millisecond)
				if n := runOnce(t, w); n != 0 {
					t.Fatalf("attempt %d came early", i+2)
				}
				clk.Step(time.Millisecond)
				total += DefaultSchedule[i+1]
				clk.Step(-DefaultSchedule[i+1])
				total -= DefaultSchedule[i+1]
			}
		} else if st.Pending != 0 || st.Expired != 1 {
			t.Fatalf("after the last attempt: %+v", st)
		}
	}
	if total < 27*time.Hour+35*time.Minute {
		t.Fatalf("window %s, want about 27 h 35 min", total)
	}
	if ids, _ := o.Expired(ctx, sink.ID); len(ids) != 1 || ids[0] != d.Event.ID {
		t.Errorf("expired list %v", ids)
	}
	if rcv.tries[d.Event.ID] != len(DefaultSchedule) {
		t.Errorf("%d attempts, want %d", rcv.tries[d.Event.ID], len(DefaultSchedule))
	}
	if got := testutil.ToFloat64(m.Notifications.WithLabelValues(sink.ID, "limit_reached", "expired")); got != 1 {
		t.Errorf("expired counter %v", got)
	}
	if got := testutil.ToFloat64(m.ConsecutiveFailures.WithLabelValues(sink.ID)); got != float64(len(DefaultSchedule)) {
		t.Errorf("consecutive failures gauge %v", got)
	}
	if n := mustEnqueue(t, o, d); n != 0 {
		t.Errorf("an expired event was enqueued again")
	}
}

// TestSignatureOnTheWire: with the real clock, the reference library's
// full Verify (signature and timestamp tolerance) accepts the request,
// and the extra headers arrive.
func TestSignatureOnTheWire(t *testing.T) {
	wh, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	var verified atomic.Int64
	var team atomic.Value
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := wh.Verify(body, r.Header); err != nil {
			t.Errorf("reference verifier: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		team.Store(r.Header.Get("X-Tenant-Team"))
		verified.Add(1)
	}))
	defer ts.Close()
	signer, _ := NewSigner(testSecret)
	sink := Sink{ID: sinkID(t, "a"), URL: ts.URL, Signer: signer, Headers: http.Header{"X-Tenant-Team": {"cs"}}}
	if err := sink.Validate(); err != nil {
		t.Fatal(err)
	}
	o, w, _ := setup(t, clock.RealClock{}, sink)
	mustEnqueue(t, o, Delivery{Sink: sink.ID, Event: event(1)})
	runOnce(t, w)
	if verified.Load() != 1 || team.Load() != "cs" {
		t.Fatalf("verified %d, header %v", verified.Load(), team.Load())
	}
}

// TestHostileReceivers: a receiver that never answers, one that answers
// with an endless body, and one that redirects elsewhere are all bounded:
// the attempt ends within the timeout, and a redirect is not followed.
func TestHostileReceivers(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	block := make(chan struct{})
	defer close(block)
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
		wantErr string
	}{
		{"slow", func(w http.ResponseWriter, r *http.Request) {
			// Reading the body lets the server notice the client leaving.
			_, _ = io.Copy(io.Discard, r.Body)
			select {
			case <-block:
			case <-r.Context().Done():
			}
		}, "deadline exceeded"},
		{"endless body", func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 32<<10)
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, ""},
		{"redirect to another host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/steal", http.StatusTemporaryRedirect)
		}, "redirect"},
		{"huge error body", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			chunk := make([]byte, 32<<10)
			for range 3000 { // ~100 MB
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, "HTTP 500"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := httptest.NewServer(tc.handler)
			defer ts.Close()
			signer, _ := NewSigner(testSecret)
			sink := Sink{ID: sinkID(t, "a"), URL: ts.URL, Signer: signer}
			o, w, _ := setup(t, clock.RealClock{}, sink)
			w.Timeout = 500 * time.Millisecond
			mustEnqueue(t, o, Delivery{Sink: sink.ID, Event: event(1)})
			start := time.Now()
			runOnce(t, w)
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("attempt took %s", el)
			}
			st, err := o.Status(testCtx(t), sink.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantErr == "" {
				if st.LastSuccess == nil {
					t.Errorf("not delivered: %+v", st)
				}
			} else if !strings.Contains(st.LastError, tc.wantErr) || st.Pending != 1 {
				t.Errorf("status %+v, want pending with error %q", st, tc.wantErr)
			}
		})
	}
	if elsewhere.Load() != 0 {
		t.Errorf("the redirect target received %d requests", elsewhere.Load())
	}
}

func TestSinkValidate(t *testing.T) {
	signer, _ := NewSigner(testSecret)
	for _, tc := range []struct {
		s       Sink
		wantErr string
	}{
		{Sink{ID: "ns/p/s", URL: "https://hooks.example/x", Signer: signer}, ""},
		{Sink{ID: "ns/p/s{x}", URL: "https://hooks.example/x", Signer: signer}, "sink id"},
		{Sink{ID: "ns/p/s", URL: "ftp://hooks.example/x", Signer: signer}, "scheme"},
		{Sink{ID: "ns/p/s", URL: "https://user:pw@hooks.example/x", Signer: signer}, "credentials"},
		{Sink{ID: "ns/p/s", URL: "https:///x", Signer: signer}, "no host"},
		{Sink{ID: "ns/p/s", URL: "https://hooks.example/x"}, "no signing secret"},
		{Sink{ID: "ns/p/s", URL: "https://hooks.example/x", Signer: signer, Headers: http.Header{"Webhook-Signature": {"v1,x"}}}, "cannot be overridden"},
		{Sink{ID: "ns/p/s", URL: "https://hooks.example/x", Signer: signer, Headers: http.Header{"X-A": {"a\r\nb"}}}, "invalid value"},
		{Sink{ID: "ns/p/s", URL: "https://hooks.example/x", Signer: signer, Headers: http.Header{"X A": {"a"}}}, "not valid"},
	} {
		err := tc.s.Validate()
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%+v: %v, want %q", tc.s, err, tc.wantErr)
		}
	}
}

// TestNotifierEndToEnd: forecasts in, one event per crossing out, through
// Redis state; re-running the same forecast (a crash before the state was
// saved looks the same) enqueues nothing new; the Start loop delivers.
func TestNotifierEndToEnd(t *testing.T) {
	rcv := newReceiver(t, 0)
	sink := rcv.sink(t, sinkID(t, "a"))
	rdb := newClient(t)
	o := NewOutbox(rdb, clock.RealClock{})
	n := NewNotifier(rdb, o)
	w := NewWorker(o, func() []Sink { return []Sink{sink} })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = w.Start(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	wantsAll := []SinkWants{{Sink: sink.ID, Recovered: true, Conditions: []Condition{
		{Kind: KindUsageThreshold, Percentages: []int{80, 90}},
		{Kind: KindLimitReached},
		{Kind: KindPredictedBreach, WithinDays: 14, Earliest: true},
	}}}
	subj := func(p float64, days int) Subject {
		s := sampleSubject()
		s.Tenant = "e2e-" + strings.ToLower(t.Name())
		s.Percentage = &p
		s.DaysUntilBreach, s.DaysUntilEarliest = &days, &days
		return s
	}
	observe := func(p float64, days int) int {
		k, err := n.Observe(testCtx(t), wantsAll, []Subject{subj(p, days)}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	steps := []struct {
		p    float64
		days int
		want int
	}{
		{50, 30, 0},
		{81, 20, 1}, // usage_threshold 80
		{81, 20, 0}, // same forecast again
		{79, 12, 1}, // predicted_breach; 80 held by hysteresis
		{82, 12, 0}, // flapping: nothing
		{100, 0, 2}, // usage_threshold 90 and limit_reached
		{50, 40, 3}, // three recovered
		{50, 40, 0},
	}
	total := 0
	for i, s := range steps {
		if got := observe(s.p, s.days); got != s.want {
			t.Fatalf("step %d (%v%%, %d days): %d enqueued, want %d", i, s.p, s.days, got, s.want)
		}
		total += s.want
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(rcv.delivered()) < total && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	got := rcv.delivered()
	if len(got) != total {
		t.Fatalf("%d distinct events delivered, want %d", len(got), total)
	}
	types := map[string]int{}
	for id := range got {
		var e struct {
			Type EventType `json:"type"`
		}
		_ = jsonUnmarshal(rcv.bodies[id], &e)
		types[e.Type.Short()]++
	}
	want := map[string]int{"usage_threshold": 2, "predicted_breach": 1, "limit_reached": 1, "recovered": 3}
	for k, v := range want {
		if types[k] != v {
			t.Errorf("%s: %d, want %d (all: %v)", k, types[k], v, types)
		}
	}
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
