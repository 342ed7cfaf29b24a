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
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
)

// cond is a condition without its times, for exact comparisons.
type cond struct {
	Type, Reason string
	Status       metav1.ConditionStatus
}

func condsOf(cs []metav1.Condition) map[string]cond {
	out := map[string]cond{}
	for _, c := range cs {
		out[c.Type] = cond{c.Type, c.Reason, c.Status}
	}
	return out
}

func withConds(gen int64, cs ...metav1.Condition) *subv1.SubscriptionPolicy {
	p := &subv1.SubscriptionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", Generation: gen}}
	for _, c := range cs {
		setCondition(&p.Status.Conditions, gen, c.Type, c.Status, c.Reason, c.Message)
	}
	return p
}

func c(typ string, st metav1.ConditionStatus, reason string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: st, Reason: reason, Message: typ + " " + reason}
}

// TestSummarizePolicy checks the exact kstatus summary of every situation.
func TestSummarizePolicy(t *testing.T) {
	const T, F = metav1.ConditionTrue, metav1.ConditionFalse
	for _, tc := range []struct {
		name    string
		in      []metav1.Condition
		pending bool
		ready   cond
		recon   cond
	}{
		{"all well", []metav1.Condition{c(subv1.ConditionStalled, F, "Valid"), c(subv1.ConditionSnapshotSucceeded, T, "SnapshotRecorded"), c(subv1.ConditionGatewayReady, T, "Available")}, false,
			cond{subv1.ConditionReady, ReasonReconciled, T}, cond{subv1.ConditionReconciling, ReasonReconciled, F}},
		{"invalid spec stalls and does not reconcile", []metav1.Condition{c(subv1.ConditionStalled, T, ReasonInvalidSpec)}, false,
			cond{subv1.ConditionReady, ReasonInvalidSpec, F}, cond{subv1.ConditionReconciling, ReasonInvalidSpec, F}},
		{"stalled wins over pending", []metav1.Condition{c(subv1.ConditionStalled, T, ReasonInvalidSpec)}, true,
			cond{subv1.ConditionReady, ReasonInvalidSpec, F}, cond{subv1.ConditionReconciling, ReasonInvalidSpec, F}},
		{"gateway rolling out", []metav1.Condition{c(subv1.ConditionStalled, F, "Valid"), c(subv1.ConditionGatewayReady, F, "Progressing")}, false,
			cond{subv1.ConditionReady, "Progressing", F}, cond{subv1.ConditionReconciling, ReasonReconciled, F}},
		{"failed snapshot waiting for its retry", []metav1.Condition{c(subv1.ConditionStalled, F, "Valid"), c(subv1.ConditionSnapshotSucceeded, F, "SnapshotFailed")}, true,
			cond{subv1.ConditionReady, "SnapshotFailed", F}, cond{subv1.ConditionReconciling, ReasonRetryScheduled, T}},
		{"discovery rejected rows", []metav1.Condition{c(subv1.ConditionStalled, F, "Valid"), c(subv1.ConditionDiscovered, F, "RowsRejected")}, false,
			cond{subv1.ConditionReady, "RowsRejected", F}, cond{subv1.ConditionReconciling, ReasonReconciled, F}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := withConds(4, tc.in...)
			summarizePolicy(p, tc.pending)
			got := condsOf(p.Status.Conditions)
			if got[subv1.ConditionReady] != tc.ready {
				t.Errorf("Ready = %+v, want %+v", got[subv1.ConditionReady], tc.ready)
			}
			if got[subv1.ConditionReconciling] != tc.recon {
				t.Errorf("Reconciling = %+v, want %+v", got[subv1.ConditionReconciling], tc.recon)
			}
			if p.Status.Conditions[0].Type != subv1.ConditionReady {
				t.Errorf("Ready is not first: %v", p.Status.Conditions[0].Type)
			}
			if p.Status.ObservedGeneration != 4 {
				t.Errorf("observedGeneration %d", p.Status.ObservedGeneration)
			}
			for _, cc := range p.Status.Conditions {
				if cc.ObservedGeneration != 4 {
					t.Errorf("%s has observedGeneration %d", cc.Type, cc.ObservedGeneration)
				}
			}
		})
	}
}

// TestProgressing: a reconcile of a generation not yet observed starts
// Reconciling=True (reason Progressing); an observed one does not.
func TestProgressing(t *testing.T) {
	for _, tc := range []struct {
		name          string
		gen, observed int64
		msg           string
		ok            bool
	}{
		{"new object", 1, 0, "reconciling generation 1", true},
		{"edited", 3, 2, "reconciling generation 3", true},
		{"observed", 3, 3, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := withConds(tc.gen)
			p.Status.ObservedGeneration = tc.observed
			msg, ok := progressing(p)
			if msg != tc.msg || ok != tc.ok {
				t.Errorf("progressing = %q %v, want %q %v", msg, ok, tc.msg, tc.ok)
			}
		})
	}
}

type fakeGateway struct {
	ready int32
	ok    bool
	msg   string
	err   error
}

func (f fakeGateway) Reconcile(context.Context, *subv1.SubscriptionPolicy) (int32, bool, string, error) {
	return f.ready, f.ok, f.msg, f.err
}

// TestReconcileGatewayConditions checks GatewayReady for each answer of the gateway manager.
func TestReconcileGatewayConditions(t *testing.T) {
	const T, F = metav1.ConditionTrue, metav1.ConditionFalse
	enabled := &subv1.GatewaySpec{Enabled: true, Upstream: "http://app"}
	for _, tc := range []struct {
		name    string
		spec    *subv1.GatewaySpec
		gw      fakeGateway
		want    cond
		wantErr bool
		status  *subv1.GatewayStatus
	}{
		{"disabled", nil, fakeGateway{}, cond{subv1.ConditionGatewayReady, "Disabled", T}, false, nil},
		{"available", enabled, fakeGateway{ready: 2, ok: true, msg: "2 of 2 ready"}, cond{subv1.ConditionGatewayReady, "Available", T}, false, &subv1.GatewayStatus{ReadyReplicas: 2}},
		{"progressing", enabled, fakeGateway{ready: 1, msg: "1 of 2 ready"}, cond{subv1.ConditionGatewayReady, "Progressing", F}, false, &subv1.GatewayStatus{ReadyReplicas: 1}},
		{"apply failed", enabled, fakeGateway{err: errors.New("boom")}, cond{subv1.ConditionGatewayReady, "ReconcileFailed", F}, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := withConds(2)
			p.Spec.Gateway = tc.spec
			r := &PolicyReconciler{Gateway: tc.gw}
			err := r.reconcileGateway(context.Background(), p)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v", err)
			}
			if got := condsOf(p.Status.Conditions)[subv1.ConditionGatewayReady]; got != tc.want {
				t.Errorf("GatewayReady = %+v, want %+v", got, tc.want)
			}
			if tc.wantErr {
				return
			}
			if (p.Status.Gateway == nil) != (tc.status == nil) || (tc.status != nil && *p.Status.Gateway != *tc.status) {
				t.Errorf("status.gateway = %+v, want %+v", p.Status.Gateway, tc.status)
			}
		})
	}
}

func TestDiscoveryResultCondition(t *testing.T) {
	ok := &DiscoveryResult{Found: map[string]bool{"a": true}}
	if st, reason, _ := ok.Condition(); st != metav1.ConditionTrue || reason != "TenantsDiscovered" {
		t.Errorf("clean pass: %s %s", st, reason)
	}
	bad := &DiscoveryResult{Found: map[string]bool{"a": true, "c": true}, Rejected: []string{`tenant "Bad.Id": metadata.name: Invalid value`}}
	st, reason, msg := bad.Condition()
	if st != metav1.ConditionFalse || reason != "RowsRejected" || msg != `1 of 3 rows of spec.tenantDiscovery were rejected: tenant "Bad.Id": metadata.name: Invalid value` {
		t.Errorf("bad row: %s %s %q", st, reason, msg)
	}
}

func TestDiscoveredConditionIsDerivedFromLabels(t *testing.T) {
	tu := func(labels map[string]string) *subv1.TenantUsage {
		return &subv1.TenantUsage{ObjectMeta: metav1.ObjectMeta{Labels: labels}}
	}
	if _, _, _, ok := discoveredCondition(tu(nil)); ok {
		t.Error("a hand-written tenant got a Discovered condition")
	}
	st, reason, _, _ := discoveredCondition(tu(map[string]string{subv1.LabelManagedBy: snapshot.DiscoveryManager, subv1.LabelDiscoveryState: subv1.DiscoveryActive}))
	if st != metav1.ConditionTrue || reason != "Active" {
		t.Errorf("active: %s %s", st, reason)
	}
	st, reason, _, _ = discoveredCondition(tu(map[string]string{subv1.LabelManagedBy: snapshot.DiscoveryManager, subv1.LabelDiscoveryState: subv1.DiscoveryMissing}))
	if st != metav1.ConditionFalse || reason != "NotFoundInDatabase" {
		t.Errorf("missing: %s %s", st, reason)
	}
}
