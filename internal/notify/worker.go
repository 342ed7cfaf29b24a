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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/net/http/httpguts"
	"k8s.io/utils/clock"
)

// DefaultTimeout bounds one attempt: connect, send, response headers and
// the (discarded, bounded) body. Svix's value.
const DefaultTimeout = 15 * time.Second

// maxResponseBody is how much of a receiver's response is read (and
// discarded) so the connection can be reused; a larger body closes it.
const maxResponseBody = 64 << 10

// Sink is a webhook receiver, resolved by the caller from the policy and
// its Secrets.
type Sink struct {
	// ID names the sink: <namespace>/<policy>/<sink> (see ValidSinkID).
	ID string
	// URL is the http or https endpoint the events are POSTed to.
	URL string
	// Signer signs each attempt.
	Signer *Signer
	// Headers are extra request headers (from a Secret). They cannot
	// replace the headers the protocol needs.
	Headers http.Header
}

// reservedHeaders are set by the worker on every request.
var reservedHeaders = map[string]bool{
	"content-type": true, "content-length": true, "host": true, "transfer-encoding": true,
	"connection": true, "user-agent": true, "webhook-id": true, "webhook-timestamp": true,
	"webhook-signature": true, "te": true, "trailer": true, "upgrade": true,
}

// Validate reports what is wrong with the sink, naming the field.
func (s Sink) Validate() error {
	var errs []error
	if err := ValidSinkID(s.ID); err != nil {
		errs = append(errs, err)
	}
	u, err := url.Parse(s.URL)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("sink %s: url: %w", s.ID, err))
	case u.Scheme != "http" && u.Scheme != "https":
		errs = append(errs, fmt.Errorf("sink %s: url scheme %q must be http or https", s.ID, u.Scheme))
	case u.Host == "":
		errs = append(errs, fmt.Errorf("sink %s: url has no host", s.ID))
	case u.User != nil:
		errs = append(errs, fmt.Errorf("sink %s: url must not carry credentials; use headers from a Secret", s.ID))
	}
	if s.Signer == nil {
		errs = append(errs, fmt.Errorf("sink %s: no signing secret", s.ID))
	}
	for name, vs := range s.Headers {
		if !httpguts.ValidHeaderFieldName(name) {
			errs = append(errs, fmt.Errorf("sink %s: header name %q is not valid", s.ID, name))
			continue
		}
		if reservedHeaders[strings.ToLower(name)] {
			errs = append(errs, fmt.Errorf("sink %s: header %q is set by the operator and cannot be overridden", s.ID, name))
		}
		for _, v := range vs {
			if !httpguts.ValidHeaderFieldValue(v) {
				errs = append(errs, fmt.Errorf("sink %s: header %q has an invalid value", s.ID, name))
			}
		}
	}
	return errors.Join(errs...)
}

// Metrics are the notification metrics.
type Metrics struct {
	// Notifications is subscription_notifications_total{sink,event,result},
	// result one of enqueued, delivered, failed (an attempt failed; it will
	// be retried) and expired (the last attempt failed; the event is dropped).
	Notifications *prometheus.CounterVec
	// ConsecutiveFailures is subscription_notification_sink_consecutive_failures{sink}.
	ConsecutiveFailures *prometheus.GaugeVec
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Notifications: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "subscription_notifications_total",
			Help: "Webhook notifications by sink, event type and result (enqueued, delivered, failed, expired).",
		}, []string{"sink", "event", "result"}),
		ConsecutiveFailures: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "subscription_notification_sink_consecutive_failures",
			Help: "Failed delivery attempts to the sink since its last success.",
		}, []string{"sink"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.Notifications, m.ConsecutiveFailures} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("notify: register metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *Metrics) count(sink string, t EventType, result string) {
	if m != nil {
		m.Notifications.WithLabelValues(sink, t.Short(), result).Inc()
	}
}

// Worker delivers the outbox. Run it on the leader only: Start blocks
// until its context ends and NeedLeaderElection says so to a
// controller-runtime manager; IsLeader, when set, is checked again before
// every claim, so a replica that lost the lease stops claiming at once.
// Two workers on one Redis never attempt the same delivery at the same
// time anyway (a claim is a lease), but only the leader should send.
type Worker struct {
	outbox *Outbox
	clock  clock.Clock
	client *http.Client

	// Sinks returns the configured sinks; called on every pass, so
	// configuration changes apply without a restart. Deliveries of a sink
	// not returned wait (see Outbox.Purge).
	Sinks func() []Sink
	// IsLeader gates claiming; nil means always.
	IsLeader func() bool
	// Schedule is the delay before each attempt after a failure.
	Schedule []time.Duration
	// Timeout bounds one attempt.
	Timeout time.Duration
	// Concurrency is the number of attempts in flight per sink.
	Concurrency int
	// Batch is how many deliveries one claim takes.
	Batch int
	// Poll is the time between passes when nothing wakes the worker.
	Poll time.Duration
	// Metrics, when set, count attempts.
	Metrics *Metrics
	// OnStatus, when set, is called with the sink's status after every pass
	// that attempted something, so the caller can report health changes
	// (the policy controller refreshes the policy's status with it). It
	// must not block.
	OnStatus func(SinkStatus)
}

// NewWorker returns a worker with the defaults: Svix's schedule, 15 s
// timeout, 16 attempts in flight per sink, 1 s poll.
func NewWorker(o *Outbox, sinks func() []Sink) *Worker {
	w := &Worker{
		outbox: o, clock: o.clock, Sinks: sinks,
		Schedule: DefaultSchedule, Timeout: DefaultTimeout, Concurrency: 16, Batch: 200, Poll: time.Second,
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = w.Concurrency
	tr.ResponseHeaderTimeout = w.Timeout
	w.client = &http.Client{
		Transport: tr,
		Timeout:   w.Timeout,
		// A signed body is never re-sent somewhere the policy did not
		// name: a redirect is reported as a failed attempt.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return w
}

// NeedLeaderElection tells a controller-runtime manager to start the
// worker only on the elected leader.
func (w *Worker) NeedLeaderElection() bool { return true }

// Start delivers until ctx ends.
func (w *Worker) Start(ctx context.Context) error {
	for {
		// Errors are recorded per sink in its status; a pass that cannot
		// reach Redis is retried at the next poll.
		_, _ = w.RunOnce(ctx)
		t := w.clock.NewTimer(w.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		case <-w.outbox.wake:
			t.Stop()
		}
	}
}

// RunOnce attempts every delivery due now, for every sink, and returns how
// many it attempted.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	var errs []error
	total := 0
	for _, s := range w.Sinks() {
		for {
			if w.IsLeader != nil && !w.IsLeader() {
				return total, errors.Join(errs...)
			}
			n, err := w.pass(ctx, s)
			total += n
			if err != nil {
				errs = append(errs, err)
				break
			}
			if n < w.Batch || ctx.Err() != nil {
				break
			}
		}
	}
	return total, errors.Join(errs...)
}

// pass claims one batch of sink's due deliveries, attempts them with
// bounded concurrency and records the outcomes.
func (w *Worker) pass(ctx context.Context, s Sink) (int, error) {
	now := w.clock.Now()
	// The lease outlasts an attempt, so a crashed worker's claims become
	// due again for the next one (at-least-once), and a live one's do not.
	cs, err := w.outbox.claim(ctx, s.ID, now, now.Add(w.Timeout+30*time.Second), w.Batch)
	if err != nil || len(cs) == 0 {
		return 0, err
	}
	outs := make([]outcome, len(cs))
	sem := make(chan struct{}, max(w.Concurrency, 1))
	var wg sync.WaitGroup
	for i, c := range cs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			outs[i] = outcome{c: c, err: w.attempt(ctx, s, c)}
		}()
	}
	wg.Wait()
	done := w.clock.Now()
	for i := range outs {
		o := &outs[i]
		switch {
		case o.err == nil:
			w.Metrics.count(s.ID, o.c.typ, "delivered")
		case o.c.attempt >= len(w.Schedule):
			w.Metrics.count(s.ID, o.c.typ, "expired")
		default:
			o.next = done.Add(w.Schedule[o.c.attempt])
			w.Metrics.count(s.ID, o.c.typ, "failed")
		}
	}
	if err := w.outbox.record(ctx, s.ID, done, outs); err != nil {
		return len(cs), err
	}
	if w.Metrics != nil || w.OnStatus != nil {
		if st, err := w.outbox.Status(ctx, s.ID); err == nil {
			if w.Metrics != nil {
				w.Metrics.ConsecutiveFailures.WithLabelValues(s.ID).Set(float64(st.ConsecutiveFailures))
			}
			if w.OnStatus != nil {
				w.OnStatus(st)
			}
		}
	}
	return len(cs), nil
}

// attempt POSTs one delivery: nil on a 2xx answer within the timeout.
func (w *Worker) attempt(ctx context.Context, s Sink, c claimed) error {
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(c.body))
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	for name, vs := range s.Headers {
		if !reservedHeaders[strings.ToLower(name)] {
			req.Header[http.CanonicalHeaderKey(name)] = append([]string(nil), vs...)
		}
	}
	req.Header.Set("Content-Type", ContentType)
	req.Header.Set("User-Agent", "subscription-operator-webhooks/1")
	s.Signer.SetHeaders(req.Header, c.id, w.clock.Now(), c.body)
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("attempt %d: %w", c.attempt, err)
	}
	// Read a bounded part so a well-behaved receiver's connection is
	// reused; a huge body is cut off and its connection closed.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("attempt %d: HTTP %d redirect to %q not followed", c.attempt, resp.StatusCode, truncate(resp.Header.Get("Location"), 200))
	default:
		return fmt.Errorf("attempt %d: HTTP %d", c.attempt, resp.StatusCode)
	}
}
