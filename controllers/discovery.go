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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

// TenantLister returns the active tenants and their tiers (Postgres in production).
type TenantLister interface {
	Tenants(ctx context.Context, query string) ([]usage.TenantRow, error)
}

// Discovery keeps TenantUsage objects in step with the tenants found in the
// database. It creates and updates them, and marks (never deletes) those that
// disappeared, so their history and forecast stay readable.
type Discovery struct {
	Client   client.Client
	Source   TenantLister
	Recorder events.EventRecorder
}

const discoveryManager = "tenant-discovery"

// Sync runs the policy's discovery query once and returns the active tenant
// IDs it found (the cache may not show the objects it just created yet).
func (d *Discovery) Sync(ctx context.Context, policy *subv1.SubscriptionPolicy) (map[string]bool, error) {
	rows, err := d.Source.Tenants(ctx, policy.Spec.TenantDiscovery.Postgres.Query)
	if err != nil {
		return nil, fmt.Errorf("spec.tenantDiscovery query: %w", err)
	}
	tiers := map[string]bool{}
	for _, t := range policy.Spec.Tiers {
		tiers[t.Name] = true
	}
	found := make(map[string]bool, len(rows))
	for _, row := range rows {
		if !tiers[row.Tier] {
			warn(d.Recorder, policy, "UnknownTier", "Discover",
				fmt.Sprintf("tenant %q has tier %q, which the policy does not declare; skipped", row.TenantID, row.Tier))
			continue
		}
		found[row.TenantID] = true
		if err := d.upsert(ctx, policy, row); err != nil {
			return nil, err
		}
	}
	return found, d.markMissing(ctx, policy, found)
}

func (d *Discovery) upsert(ctx context.Context, policy *subv1.SubscriptionPolicy, row usage.TenantRow) error {
	tu := &subv1.TenantUsage{ObjectMeta: metav1.ObjectMeta{Name: row.TenantID, Namespace: policy.Namespace}}
	op, err := controllerutil.CreateOrPatch(ctx, d.Client, tu, func() error {
		if tu.CreationTimestamp.IsZero() {
			tu.Spec.TenantID = row.TenantID
			tu.Spec.PolicyRef.Name = policy.Name
		} else if tu.Labels[subv1.LabelManagedBy] != discoveryManager {
			// A hand-written TenantUsage of the same name wins; discovery leaves it alone.
			return nil
		}
		tu.Spec.Tier = row.Tier
		if tu.Labels == nil {
			tu.Labels = map[string]string{}
		}
		tu.Labels[subv1.LabelManagedBy] = discoveryManager
		tu.Labels[subv1.LabelDiscoveryState] = subv1.DiscoveryActive
		tu.Labels[subv1.LabelPolicy] = policy.Name
		return controllerutil.SetOwnerReference(policy, tu, d.Client.Scheme())
	})
	if err != nil {
		return fmt.Errorf("creating or updating TenantUsage %s: %w", row.TenantID, err)
	}
	if op == controllerutil.OperationResultCreated {
		normal(d.Recorder, policy, "TenantDiscovered", "Discover", "created TenantUsage "+row.TenantID)
	}
	return d.setDiscovered(ctx, tu, metav1.ConditionTrue, "Active", "tenant is active in the database")
}

// markMissing labels discovered tenants that the query no longer returns.
func (d *Discovery) markMissing(ctx context.Context, policy *subv1.SubscriptionPolicy, found map[string]bool) error {
	tenants, err := TenantsOfPolicy(ctx, d.Client, policy)
	if err != nil {
		return err
	}
	for i := range tenants {
		tu := &tenants[i]
		if tu.Labels[subv1.LabelManagedBy] != discoveryManager || found[tu.Spec.TenantID] {
			continue
		}
		if tu.Labels[subv1.LabelDiscoveryState] != subv1.DiscoveryMissing {
			patch := client.MergeFrom(tu.DeepCopy())
			tu.Labels[subv1.LabelDiscoveryState] = subv1.DiscoveryMissing
			if err := d.Client.Patch(ctx, tu, patch); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("labelling TenantUsage %s as missing: %w", tu.Name, err)
			}
			warn(d.Recorder, tu, "TenantMissing", "Discover", "tenant is no longer returned by the discovery query; history is kept")
		}
		if err := d.setDiscovered(ctx, tu, metav1.ConditionFalse, "NotFoundInDatabase",
			"tenant is no longer returned by spec.tenantDiscovery; its history is kept"); err != nil {
			return err
		}
	}
	return nil
}

// setDiscovered patches the Discovered condition with an optimistic lock, so the
// forecast controller's concurrent status write is never overwritten; on a
// conflict it re-reads and tries again.
func (d *Discovery) setDiscovered(ctx context.Context, tu *subv1.TenantUsage, status metav1.ConditionStatus, reason, msg string) error {
	key := client.ObjectKeyFromObject(tu)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur := &subv1.TenantUsage{}
		if err := d.Client.Get(ctx, key, cur); err != nil {
			return err
		}
		if c := findCondition(cur.Status.Conditions, subv1.ConditionDiscovered); c != nil && c.Status == status && c.Reason == reason {
			return nil
		}
		patch := client.MergeFromWithOptions(cur.DeepCopy(), client.MergeFromWithOptimisticLock{})
		setCondition(&cur.Status.Conditions, cur.Generation, subv1.ConditionDiscovered, status, reason, msg)
		return d.Client.Status().Patch(ctx, cur, patch)
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("setting Discovered on %s: %w", tu.Name, err)
	}
	return nil
}
