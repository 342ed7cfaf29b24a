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

package controllers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/notify"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// NotificationsHealthy reasons.
const (
	ReasonSinksDelivering = "Delivering"
	ReasonSinkInvalid     = "SinkInvalid"
	ReasonSinkFailing     = "SinkFailing"
)

// reconcileNotifications resolves the policy's sinks (their Secrets), hands
// them to the worker, and reports each sink's health in status, in the
// NotificationsHealthy condition and, on transitions, as Events. A sink
// whose Secret cannot be read is not delivered to, but its events keep
// being enqueued and wait: fixing the Secret sends them.
func (r *PolicyReconciler) reconcileNotifications(ctx context.Context, pol *subv1.SubscriptionPolicy, spec *policy.Spec) {
	n := r.Notifications
	if n == nil {
		return
	}
	key := client.ObjectKeyFromObject(pol)
	if len(spec.Sinks) == 0 {
		n.update(ctx, key, nil, nil)
		pol.Status.Notifications = nil
		meta.RemoveStatusCondition(&pol.Status.Conditions, subv1.ConditionNotificationsHealthy)
		return
	}
	old := map[string]subv1.SinkStatus{}
	if pol.Status.Notifications != nil {
		for _, s := range pol.Status.Notifications.Sinks {
			old[s.Name] = s
		}
	}
	var (
		ids              []string
		resolved         []notify.Sink
		statuses         []subv1.SinkStatus
		invalid, failing []string
	)
	for _, s := range spec.Sinks {
		ids = append(ids, s.ID)
		st := subv1.SinkStatus{Name: s.Name}
		if os, err := n.Outbox.Status(ctx, s.ID); err != nil {
			st.LastError = truncateMsg("reading delivery status: " + err.Error())
		} else {
			st.ConsecutiveFailures, st.Expired = os.ConsecutiveFailures, os.Expired
			st.LastDeliveryTime, st.LastFailureTime = metaTime(os.LastSuccess), metaTime(os.LastFailure)
			if os.ConsecutiveFailures > 0 {
				st.LastError = truncateMsg(os.LastError)
			}
			if os.ConsecutiveFailures >= n.failingAfter {
				failing = append(failing, fmt.Sprintf("sink %s: %d attempts in a row failed, last: %s", s.Name, os.ConsecutiveFailures, os.LastError))
			}
		}
		sink, err := n.resolveSink(ctx, pol.Namespace, s)
		if err != nil {
			st.LastError = truncateMsg(err.Error())
			invalid = append(invalid, "sink "+s.Name+": "+err.Error())
			if o := old[s.Name]; o.LastError != st.LastError && n.announceInvalid(s.ID, st.LastError) {
				warn(r.Recorder, pol, "NotificationSinkInvalid", "ResolveSink", "sink "+s.Name+": "+err.Error())
			}
		} else {
			resolved = append(resolved, sink)
		}
		r.sinkTransitionEvents(pol, old[s.Name], st, n.failingAfter)
		statuses = append(statuses, st)
	}
	n.update(ctx, key, ids, resolved)
	pol.Status.Notifications = &subv1.NotificationsStatus{Sinks: statuses}
	switch {
	case len(invalid) > 0:
		setCondition(&pol.Status.Conditions, pol.Generation, subv1.ConditionNotificationsHealthy, metav1.ConditionFalse, ReasonSinkInvalid,
			strings.Join(append(invalid, failing...), "; "))
	case len(failing) > 0:
		setCondition(&pol.Status.Conditions, pol.Generation, subv1.ConditionNotificationsHealthy, metav1.ConditionFalse, ReasonSinkFailing,
			strings.Join(failing, "; "))
	default:
		setCondition(&pol.Status.Conditions, pol.Generation, subv1.ConditionNotificationsHealthy, metav1.ConditionTrue, ReasonSinksDelivering,
			fmt.Sprintf("%d sinks configured, none failing", len(spec.Sinks)))
	}
}

// sinkTransitionEvents records one Event when a sink starts failing and one
// when it delivers again: once per transition, because the previous status
// is persisted in the policy.
func (r *PolicyReconciler) sinkTransitionEvents(pol *subv1.SubscriptionPolicy, was, now subv1.SinkStatus, failingAfter int64) {
	wasFailing, isFailing := was.ConsecutiveFailures >= failingAfter, now.ConsecutiveFailures >= failingAfter
	// The persisted status may lag when the status patch of the reconcile
	// that emitted the Event lost a conflict: remember what was announced in
	// this process too, so the retry does not announce it again.
	n := r.Notifications
	key := pol.Namespace + "/" + pol.Name + "/" + now.Name
	n.announcedMu.Lock()
	last, ok := n.announced[key]
	n.announced[key] = announcement{failing: isFailing, expired: max(now.Expired, last.expired)}
	n.announcedMu.Unlock()
	if ok {
		wasFailing = last.failing
		was.Expired = max(was.Expired, last.expired)
	}
	switch {
	case isFailing && !wasFailing:
		warn(r.Recorder, pol, "NotificationSinkFailing", "Deliver",
			fmt.Sprintf("sink %s: %d delivery attempts in a row failed, last: %s", now.Name, now.ConsecutiveFailures, now.LastError))
	case wasFailing && !isFailing:
		normal(r.Recorder, pol, "NotificationSinkRecovered", "Deliver", fmt.Sprintf("sink %s delivers again", now.Name))
	}
	if now.Expired > was.Expired {
		warn(r.Recorder, pol, "NotificationExpired", "Deliver",
			fmt.Sprintf("sink %s: %d events expired after their last retry failed (%d in total)", now.Name, now.Expired-was.Expired, now.Expired))
	}
}

// announceInvalid reports whether msg is news for sink in this process.
func (n *Notifications) announceInvalid(sink, msg string) bool {
	n.announcedMu.Lock()
	defer n.announcedMu.Unlock()
	a := n.announced["invalid:"+sink]
	if a.invalid == msg {
		return false
	}
	a.invalid = msg
	n.announced["invalid:"+sink] = a
	return true
}

// forgetNotifications drops a deleted policy's sinks and their pending events.
func (r *PolicyReconciler) forgetNotifications(ctx context.Context, key client.ObjectKey) {
	if r.Notifications != nil {
		r.Notifications.update(ctx, key, nil, nil)
	}
}

// update hands a policy's sinks to the worker, waking it when they changed,
// and deletes what is pending for sinks the policy no longer declares.
// Removal is known only for sinks this process saw configured; a sink
// removed while no manager ran keeps its (inert) keys until purged by hand.
func (n *Notifications) update(ctx context.Context, key client.ObjectKey, ids []string, resolved []notify.Sink) {
	removed, changed := n.sinks.set(key, ids, resolved)
	if changed {
		n.Outbox.Wake()
	}
	for _, id := range removed {
		if err := n.Outbox.Purge(ctx, id); err != nil {
			log.FromContext(ctx).Error(err, "purging the outbox of a removed sink", "sink", id)
		}
	}
}

// resolveSink reads a sink's Secrets and builds the notify.Sink. Errors
// name the Secret and key, never a value.
func (n *Notifications) resolveSink(ctx context.Context, ns string, s policy.Sink) (notify.Sink, error) {
	sec, err := n.secret(ctx, ns, s.SigningSecretName)
	if err != nil {
		return notify.Sink{}, err
	}
	raw, ok := sec.Data[s.SigningSecretKey]
	if !ok {
		return notify.Sink{}, fmt.Errorf("secret %s has no key %q (signingSecretRef)", s.SigningSecretName, s.SigningSecretKey)
	}
	// Several space-separated secrets sign with each: rotation.
	signer, err := notify.NewSigner(strings.Fields(string(raw))...)
	if err != nil {
		return notify.Sink{}, fmt.Errorf("secret %s key %s (signingSecretRef): %w", s.SigningSecretName, s.SigningSecretKey, err)
	}
	out := notify.Sink{ID: s.ID, URL: s.URL, Signer: signer}
	if s.HeadersSecretName != "" {
		hs, err := n.secret(ctx, ns, s.HeadersSecretName)
		if err != nil {
			return notify.Sink{}, fmt.Errorf("%w (headersSecretRef)", err)
		}
		out.Headers = http.Header{}
		for k, v := range hs.Data {
			// Secrets made from files end in a newline, which no header
			// value may contain.
			out.Headers[k] = []string{strings.TrimRight(string(v), "\r\n")}
		}
	}
	if err := out.Validate(); err != nil {
		return notify.Sink{}, err
	}
	return out, nil
}

func (n *Notifications) secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	sec := &corev1.Secret{}
	if err := n.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sec); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("secret %s not found in namespace %s", name, ns)
		}
		return nil, fmt.Errorf("reading secret %s: %w", name, err)
	}
	return sec, nil
}

// metaTime is t truncated to the second, the precision status keeps, so a
// re-read status compares equal and nothing is rewritten.
func metaTime(t *time.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	return &metav1.Time{Time: t.Truncate(time.Second)}
}

// truncateMsg bounds a message to status.notifications.sinks[].lastError's
// MaxLength.
func truncateMsg(s string) string {
	if len(s) <= 512 {
		return s
	}
	return s[:509] + "..."
}
