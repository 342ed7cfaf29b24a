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

package scale

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/bench/internal/loadgen"
)

// callerToken returns a token of a service account allowed to get
// tenantusages in the benchmark namespace: the forecast API authenticates it
// with a TokenReview and authorises it with a SubjectAccessReview, as in a
// cluster.
func callerToken(ctx context.Context, cs kubernetes.Interface) (string, error) {
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "frontend"}}, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("creating the caller's service account: %w", err)
	}
	if _, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "forecast-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{subv1.GroupVersion.Group}, Resources: []string{"tenantusages"}, Verbs: []string{"get"}}},
	}, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("creating the caller's role: %w", err)
	}
	if _, err := cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "frontend-reads-forecasts"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "forecast-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "frontend"}},
	}, metav1.CreateOptions{}); err != nil {
		return "", fmt.Errorf("binding the caller's role: %w", err)
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "frontend", &authnv1.TokenRequest{
		Spec: authnv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](3600)},
	}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("creating the caller's token: %w", err)
	}
	return tr.Status.Token, nil
}

// TestMain runs the benchmark, or is the load generator process.
func TestMain(m *testing.M) {
	loadgen.Main()
	os.Exit(m.Run())
}

// forecastLoad sends GET url(tenant) for tenants drawn uniformly from n, at
// rate per second for d, from a generator process of its own (package
// loadgen): the benchmark process holds the fixtures (up to 100,000 objects
// and their informers), whose collections would otherwise delay sends and
// count as the API's latency.
func forecastLoad(ctx context.Context, url func(i int) string, token string, n, rate int, d time.Duration) (loadgen.Result, error) {
	total := int(float64(rate) * d.Seconds())
	rng := rand.New(rand.NewPCG(13, 1000))
	job := loadgen.Job{Rate: rate, URLs: make([]string, total), Tokens: []string{token}, TokenOf: make([]int, total), Pacing: loadgen.PacingSleep}
	for i := range total {
		job.URLs[i] = url(rng.IntN(n))
	}
	return loadgen.Run(ctx, job)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// saveProfile writes what fetch returns to dir/name (PROFILE_DIR).
func saveProfile(dir, name string, fetch func() ([]byte, error)) error {
	data, err := fetch()
	if err != nil {
		return fmt.Errorf("profile %s: %w", name, err)
	}
	return os.WriteFile(filepath.Join(dir, name), data, 0o600)
}

// httpBytes GETs a loopback URL (the manager's pprof endpoint).
func httpBytes(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}
