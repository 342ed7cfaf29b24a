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
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/internal/kube"
	"github.com/bakery-ia/subscription-operator/internal/policy"
	"github.com/bakery-ia/subscription-operator/internal/snapshot"
	"github.com/bakery-ia/subscription-operator/internal/usage"
)

// TenantLister returns the active tenants and their tiers (Postgres in production).
type TenantLister interface {
	Tenants(ctx context.Context, query string) ([]usage.TenantRow, error)
}

// Discovery keeps TenantUsage objects in step with the tenants found in the
// database. It creates and updates them, and labels (never deletes) those that
// disappeared, so their history and forecast stay readable. It writes labels
// only: the Discovered condition is derived from them by the forecast
// controller, the one writer of TenantUsage status.
type Discovery struct {
	Client   client.Client
	Source   TenantLister
	Recorder events.EventRecorder
}

// DiscoveryResult is what one discovery pass found.
type DiscoveryResult struct {
	// Found is the active tenant IDs (the cache may not show the objects
	// just created yet).
	Found map[string]bool
	// Rejected describes the rows that could not become TenantUsage objects,
	// sorted; the other rows were still applied.
	Rejected []string
}

// Condition returns the policy's Discovered condition for this pass.
func (r *DiscoveryResult) Condition() (metav1.ConditionStatus, string, string) {
	if len(r.Rejected) == 0 {
		return metav1.ConditionTrue, "TenantsDiscovered", fmt.Sprintf("%d active tenants in the database", len(r.Found))
	}
	const show = 5
	msg := strings.Join(r.Rejected[:min(len(r.Rejected), show)], "; ")
	if len(r.Rejected) > show {
		msg += fmt.Sprintf("; and %d more", len(r.Rejected)-show)
	}
	return metav1.ConditionFalse, "RowsRejected",
		fmt.Sprintf("%d of %d rows of spec.tenantDiscovery were rejected: %s", len(r.Rejected), len(r.Rejected)+len(r.Found), msg)
}

// Sync runs the policy's discovery query once. A row that cannot be applied
// (a tenant ID that is not a valid object name, a tier the policy lacks) is
// reported in the result and skipped; every other row is applied and tenants
// that disappeared are still labelled missing. The error is for the query
// itself or for API failures; the result is valid alongside an API error.
func (d *Discovery) Sync(ctx context.Context, pol *subv1.SubscriptionPolicy, spec *policy.Spec) (*DiscoveryResult, error) {
	rows, err := d.Source.Tenants(ctx, spec.DiscoveryQuery)
	if err != nil {
		return nil, fmt.Errorf("spec.tenantDiscovery query: %w", err)
	}
	res := &DiscoveryResult{Found: make(map[string]bool, len(rows))}
	var errs []error
	for _, row := range rows {
		if _, ok := spec.Tier(row.Tier); !ok {
			res.Rejected = append(res.Rejected, fmt.Sprintf("tenant %q has tier %q, which the policy does not declare", row.TenantID, row.Tier))
			continue
		}
		if err := d.upsert(ctx, pol, row); err != nil {
			if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
				// The row, not the API, is at fault: report it and go on.
				res.Rejected = append(res.Rejected, fmt.Sprintf("tenant %q: %s", row.TenantID, invalidCause(err)))
				continue
			}
			errs = append(errs, err)
			// Still found: a transient API error must not mark it missing.
		}
		res.Found[row.TenantID] = true
	}
	sort.Strings(res.Rejected)
	discoveryRejected.WithLabelValues(policyKey(pol)).Set(float64(len(res.Rejected)))
	if len(res.Rejected) > 0 {
		_, _, msg := res.Condition()
		warn(d.Recorder, pol, "DiscoveryRowsRejected", "Discover", msg)
	}
	if err := d.markMissing(ctx, pol, res.Found); err != nil {
		errs = append(errs, err)
	}
	return res, errors.Join(errs...)
}

// invalidCause is the API server's message for an invalid object, without
// the object kind and name that the caller already gives.
func invalidCause(err error) string {
	var st apierrors.APIStatus
	if errors.As(err, &st) {
		if det := st.Status().Details; det != nil && len(det.Causes) > 0 {
			parts := make([]string, 0, len(det.Causes))
			for _, c := range det.Causes {
				parts = append(parts, strings.TrimSpace(c.Field+" "+c.Message))
			}
			return strings.Join(parts, ", ")
		}
		return st.Status().Message
	}
	return err.Error()
}

func (d *Discovery) upsert(ctx context.Context, pol *subv1.SubscriptionPolicy, row usage.TenantRow) error {
	tu := &subv1.TenantUsage{ObjectMeta: metav1.ObjectMeta{Name: row.TenantID, Namespace: pol.Namespace}}
	op, err := controllerutil.CreateOrPatch(ctx, d.Client, tu, func() error {
		if tu.CreationTimestamp.IsZero() {
			tu.Spec.TenantID = row.TenantID
			tu.Spec.PolicyRef.Name = pol.Name
		} else if tu.Labels[subv1.LabelManagedBy] != snapshot.DiscoveryManager {
			// A hand-written TenantUsage of the same name wins; discovery leaves it alone.
			return nil
		}
		tu.Spec.Tier = row.Tier
		if tu.Labels == nil {
			tu.Labels = map[string]string{}
		}
		tu.Labels[subv1.LabelManagedBy] = snapshot.DiscoveryManager
		tu.Labels[subv1.LabelDiscoveryState] = subv1.DiscoveryActive
		tu.Labels[subv1.LabelPolicy] = pol.Name
		return controllerutil.SetOwnerReference(pol, tu, d.Client.Scheme())
	})
	if err != nil {
		return fmt.Errorf("creating or updating TenantUsage %s: %w", row.TenantID, err)
	}
	if op == controllerutil.OperationResultCreated {
		normal(d.Recorder, pol, "TenantDiscovered", "Discover", "created TenantUsage "+row.TenantID)
	}
	return nil
}

// markMissing labels discovered tenants that the query no longer returns.
func (d *Discovery) markMissing(ctx context.Context, pol *subv1.SubscriptionPolicy, found map[string]bool) error {
	tenants, err := kube.TenantsOfPolicy(ctx, d.Client, pol.Namespace, pol.Name, true)
	if err != nil {
		return err
	}
	var errs []error
	for i := range tenants {
		tu := &tenants[i]
		if tu.Labels[subv1.LabelManagedBy] != snapshot.DiscoveryManager || found[tu.Spec.TenantID] ||
			tu.Labels[subv1.LabelDiscoveryState] == subv1.DiscoveryMissing {
			continue
		}
		patch := client.MergeFrom(tu.DeepCopy())
		tu.Labels[subv1.LabelDiscoveryState] = subv1.DiscoveryMissing
		if err := d.Client.Patch(ctx, tu, patch); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("labelling TenantUsage %s as missing: %w", tu.Name, err))
			continue
		}
		warn(d.Recorder, tu, "TenantMissing", "Discover", "tenant is no longer returned by the discovery query; history is kept")
	}
	return errors.Join(errs...)
}

// discoveredCondition derives a TenantUsage's Discovered condition from the
// labels discovery keeps; ok is false for tenants discovery does not manage.
func discoveredCondition(tu *subv1.TenantUsage) (status metav1.ConditionStatus, reason, msg string, ok bool) {
	if tu.Labels[subv1.LabelManagedBy] != snapshot.DiscoveryManager {
		return "", "", "", false
	}
	if tu.Labels[subv1.LabelDiscoveryState] == subv1.DiscoveryMissing {
		return metav1.ConditionFalse, "NotFoundInDatabase", "tenant is no longer returned by spec.tenantDiscovery; its history is kept", true
	}
	return metav1.ConditionTrue, "Active", "tenant is active in the database", true
}
