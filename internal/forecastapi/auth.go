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

package forecastapi

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
	"k8s.io/utils/clock"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
)

// reviewTimeout bounds one TokenReview or SubjectAccessReview.
const reviewTimeout = 5 * time.Second

// Resources of the API group that the endpoints authorise against.
const (
	resourceTenantUsages = "tenantusages"
	resourcePolicies     = "subscriptionpolicies"
)

// access is what a request needs: a verb on a resource of
// subscriptions.bakery-ia.io in a namespace ("" = all namespaces).
type access struct {
	verb, resource, subresource, namespace, name string
}

// what is the verb and resource, without namespace or name
// ("get tenantusages.subscriptions.bakery-ia.io").
func (a access) what() string {
	if a.subresource != "" {
		return a.verb + " " + a.resource + "/" + a.subresource + "." + subv1.GroupVersion.Group
	}
	return a.verb + " " + a.resource + "." + subv1.GroupVersion.Group
}

func (a access) String() string {
	res := a.what()
	if a.name != "" {
		res += " " + a.name
	}
	if a.namespace == "" {
		return res + " in all namespaces"
	}
	return fmt.Sprintf("%s in namespace %q", res, a.namespace)
}

// tokenKey identifies a token in the caches without keeping it.
type tokenKey [sha256.Size]byte

// caller is an authenticated request's identity.
type caller struct {
	key  tokenKey
	user authnv1.UserInfo
}

// identity is a cached TokenReview answer; user is nil when the token was rejected.
type identity struct {
	user   *authnv1.UserInfo
	reason string
}

type decisionKey struct {
	token tokenKey
	access
}

type decision struct {
	allowed bool
	reason  string
}

// authorizer asks the API server who a token belongs to (TokenReview) and
// whether RBAC lets them do something (SubjectAccessReview), and remembers
// both answers for ttl, keyed by the token's SHA-256.
//
// From a point between half and three quarters of its ttl (see renewAfter) an
// answer is still served, and the request that finds it starts one review in
// the background: a caller that keeps calling never waits for the API server
// (it did, once per ttl, which was the tail of the latency for many callers),
// while no answer is ever used longer than ttl after the API server gave it.
type authorizer struct {
	tokens    authnclient.TokenReviewInterface
	access    authzclient.SubjectAccessReviewInterface
	audiences []string
	ttl       time.Duration
	clock     clock.PassiveClock

	identities *ttlCache[tokenKey, identity] // accepted tokens
	// rejected holds tokens the API server rejected, for ttl: a garbage token
	// sent again costs no review, and a flood of distinct ones evicts only
	// other rejections, never an accepted caller's answer.
	rejected  *ttlCache[tokenKey, identity]
	decisions *ttlCache[decisionKey, decision]
	flight    singleflight.Group // one review per token (or decision) at a time
}

// renewAfter is how long after an answer arrives its background renewal may
// start: a random point between half and three quarters of ttl, drawn per
// answer. Answers cached together (many callers arriving after a restart, or
// a client with many tokens) would otherwise all fall due in the same instant
// and be renewed in one burst of reviews every ttl, competing with the
// requests around it. Each renewal draws again, so the phases stay spread.
func renewAfter(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		return 0 // nothing is cached
	}
	return ttl/2 + rand.N(ttl/4+1)
}

// cachedAnswer returns the answer cached under key. Without one, fetch asks
// the API server and the caller waits (one call per flightKey at a time).
// With one due for renewal (renewAfter), the answer is returned at once and
// fetch renews it in the background: singleflight's DoChan starts one
// goroutine per flight, and the result only lands in the cache. A failed
// renewal is dropped; the answer stands until it expires, and the request
// after that asks in the foreground and reports the error.
func cachedAnswer[K comparable, V any](a *authorizer, cache *ttlCache[K, V], key K, flightKey func() string, fetch func() (V, error)) (V, error) {
	now := a.clock.Now()
	v, renewDue, ok := cache.getRenewal(key, now)
	if ok && !renewDue {
		return v, nil
	}
	fetchAndStore := func() (any, error) {
		v, err := fetch()
		if err != nil {
			return v, err
		}
		cache.putRenewing(key, v, a.clock.Now(), a.ttl, renewAfter(a.ttl))
		return v, nil
	}
	if ok {
		a.flight.DoChan(flightKey(), fetchAndStore)
		return v, nil
	}
	r, err, _ := a.flight.Do(flightKey(), fetchAndStore)
	if err != nil {
		var zero V
		return zero, err
	}
	return r.(V), nil
}

// newAuthorizer builds the review clients on a copy of cfg with their own
// client-side token bucket (qps, burst), shared by TokenReviews and
// SubjectAccessReviews. It replaces whatever cfg says: controller-runtime
// leaves QPS at -1 (no client-side limit), and a flood of garbage tokens then
// turned into as many TokenReviews as the API server would take.
func newAuthorizer(cfg *rest.Config, audiences []string, ttl time.Duration, maxEntries int, qps float32, burst int, clk clock.PassiveClock) (*authorizer, error) {
	if qps <= 0 || burst < 1 {
		return nil, fmt.Errorf("forecastapi: review rate limit must be positive, got %v/s burst %d", qps, burst)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = qps, burst
	cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(qps, burst)
	authn, err := authnclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("forecastapi: TokenReview client: %w", err)
	}
	authz, err := authzclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("forecastapi: SubjectAccessReview client: %w", err)
	}
	return &authorizer{
		tokens: authn.TokenReviews(), access: authz.SubjectAccessReviews(),
		audiences: audiences, ttl: ttl, clock: clk,
		identities: newTTLCache[tokenKey, identity](maxEntries),
		rejected:   newTTLCache[tokenKey, identity](maxEntries),
		decisions:  newTTLCache[decisionKey, decision](maxEntries),
	}, nil
}

// bearerToken extracts the token of "Authorization: Bearer <token>".
func bearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authenticate returns the caller of r; nil when authentication is off.
func (s *Server) authenticate(r *http.Request) (*caller, error) {
	if s.auth == nil {
		return nil, nil
	}
	token, ok := bearerToken(r)
	if !ok {
		return nil, newError(http.StatusUnauthorized, CodeUnauthenticated,
			"missing bearer token: send \"Authorization: Bearer <Kubernetes service account or user token>\"")
	}
	return s.auth.authenticate(r.Context(), token)
}

// authorize returns nil when the caller may do a (always, when auth is off).
func (s *Server) authorize(ctx context.Context, c *caller, a access) error {
	if s.auth == nil {
		return nil
	}
	return s.auth.authorize(ctx, c, a)
}

func (a *authorizer) authenticate(ctx context.Context, token string) (*caller, error) {
	key := tokenKey(sha256.Sum256([]byte(token)))
	if id, ok := a.rejected.get(key, a.clock.Now()); ok {
		return nil, unauthenticated(id)
	}
	id, err := cachedAnswer(a, a.identities, key,
		func() string { return "t" + string(key[:]) },
		func() (identity, error) {
			id, err := a.review(ctx, token)
			if err == nil && id.user == nil {
				// Kept apart from accepted tokens, and returned as an error
				// so that cachedAnswer stores nothing in identities.
				a.rejected.put(key, id, a.clock.Now(), a.ttl)
				return id, rejectedToken(id)
			}
			return id, err
		})
	var rej rejectedToken
	switch {
	case errors.As(err, &rej):
		return nil, unauthenticated(identity(rej))
	case err != nil:
		e := internalError(CodeAuthUnavailable, "authenticating the token (TokenReview)", err)
		e.retry = 1
		return nil, e
	}
	return &caller{key: key, user: *id.user}, nil
}

// rejectedToken is a TokenReview's "not authenticated" passed through
// cachedAnswer as an error.
type rejectedToken identity

func (r rejectedToken) Error() string { return "token rejected: " + r.reason }

func unauthenticated(id identity) error {
	return newError(http.StatusUnauthorized, CodeUnauthenticated, "invalid bearer token: %s", id.reason)
}

// review asks the API server about a token. Rejections are answers (cached);
// only failures to ask are errors.
func (a *authorizer) review(ctx context.Context, token string) (identity, error) {
	// Detached from the request: other requests with the same token share
	// this call (singleflight) and must not fail because this one went away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reviewTimeout)
	defer cancel()
	tr, err := a.tokens.Create(ctx, &authnv1.TokenReview{
		Spec: authnv1.TokenReviewSpec{Token: token, Audiences: a.audiences},
	}, metav1.CreateOptions{})
	if err != nil {
		return identity{}, err
	}
	st := tr.Status
	switch {
	case !st.Authenticated:
		reason := st.Error
		if reason == "" {
			reason = "the API server did not authenticate it"
		}
		return identity{reason: reason}, nil
	case len(a.audiences) > 0 && !slices.ContainsFunc(st.Audiences, func(s string) bool { return slices.Contains(a.audiences, s) }):
		return identity{reason: fmt.Sprintf("token is not for audience %s", strings.Join(a.audiences, ", "))}, nil
	}
	user := st.User
	return identity{user: &user}, nil
}

// allowed answers whether the caller may do acc. For a named object it first
// asks about the whole namespace: that answer covers every object in it, so a
// caller with a namespace-wide Role needs one cached decision per namespace,
// not one per tenant. Only when that is denied does it ask about the object
// (for Roles with resourceNames); a denial carries the namespace-wide reason,
// which does not depend on the object.
func (a *authorizer) allowed(ctx context.Context, c *caller, acc access) (decision, error) {
	if c == nil {
		return decision{}, newError(http.StatusUnauthorized, CodeUnauthenticated, "missing bearer token")
	}
	if acc.name == "" {
		return a.decide(ctx, c, acc)
	}
	wide := acc
	wide.name = ""
	d, err := a.decide(ctx, c, wide)
	if err != nil || d.allowed {
		return d, err
	}
	named, err := a.decide(ctx, c, acc)
	if err != nil || named.allowed {
		return named, err
	}
	return d, nil
}

// authorize returns nil when the caller may do acc, a 403 otherwise.
func (a *authorizer) authorize(ctx context.Context, c *caller, acc access) error {
	d, err := a.allowed(ctx, c, acc)
	if err != nil {
		return err
	}
	if !d.allowed {
		return forbidden(c, acc, d.reason)
	}
	return nil
}

// allowed is authorizer.allowed; everything is allowed when auth is off.
func (s *Server) allowed(ctx context.Context, c *caller, acc access) (decision, error) {
	if s.auth == nil {
		return decision{allowed: true}, nil
	}
	return s.auth.allowed(ctx, c, acc)
}

// forbidden is the 403 of a denied acc. It names only what the caller asked
// and who the caller is, never what exists.
func forbidden(c *caller, acc access, reason string) error {
	who := "the caller"
	if c != nil {
		who = userString(c.user)
	}
	msg := fmt.Sprintf("%s may not %s", who, acc)
	if reason != "" {
		msg += ": " + reason
	}
	return newError(http.StatusForbidden, CodeForbidden, "%s", msg)
}

// decide returns the (cached) SubjectAccessReview answer for acc.
func (a *authorizer) decide(ctx context.Context, c *caller, acc access) (decision, error) {
	d, err := cachedAnswer(a, a.decisions, decisionKey{token: c.key, access: acc},
		func() string {
			return "a" + string(c.key[:]) + "\x00" + acc.verb + "\x00" + acc.resource + "\x00" + acc.subresource + "\x00" + acc.namespace + "\x00" + acc.name
		},
		func() (decision, error) { return a.check(ctx, c, acc) })
	if err != nil {
		e := internalError(CodeAuthUnavailable, "authorising the request (SubjectAccessReview)", err)
		e.retry = 1
		return decision{}, e
	}
	return d, nil
}

func (a *authorizer) check(ctx context.Context, c *caller, acc access) (decision, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), reviewTimeout)
	defer cancel()
	extra := make(map[string]authzv1.ExtraValue, len(c.user.Extra))
	for k, v := range c.user.Extra {
		extra[k] = authzv1.ExtraValue(v)
	}
	sar, err := a.access.Create(ctx, &authzv1.SubjectAccessReview{
		Spec: authzv1.SubjectAccessReviewSpec{
			User: c.user.Username, UID: c.user.UID, Groups: c.user.Groups, Extra: extra,
			ResourceAttributes: &authzv1.ResourceAttributes{
				Namespace: acc.namespace, Verb: acc.verb,
				Group: subv1.GroupVersion.Group, Version: subv1.GroupVersion.Version,
				Resource: acc.resource, Subresource: acc.subresource, Name: acc.name,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		return decision{}, err
	}
	return decision{allowed: sar.Status.Allowed && !sar.Status.Denied, reason: sar.Status.Reason}, nil
}

func userString(u authnv1.UserInfo) string {
	if u.Username == "" {
		return "the caller"
	}
	return fmt.Sprintf("user %q", u.Username)
}
