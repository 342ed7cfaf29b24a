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

package controllers_test

import (
	"strings"
	"testing"

	"github.com/bakery-ia/subscription-operator/internal/notify"
	"github.com/bakery-ia/subscription-operator/internal/policy"
)

// TestSinkIDLimitsAgree: a policy that compiles never gives the notifier a
// sink id it refuses (which would fail every tenant's reconcile).
func TestSinkIDLimitsAgree(t *testing.T) {
	if err := notify.ValidSinkID(strings.Repeat("a", policy.MaxSinkIDLength)); err != nil {
		t.Errorf("the compiled policy allows %d characters but the notifier refuses: %v", policy.MaxSinkIDLength, err)
	}
	if notify.ValidSinkID(strings.Repeat("a", policy.MaxSinkIDLength+1)) == nil {
		t.Errorf("the notifier allows more than policy.MaxSinkIDLength (%d): raise it", policy.MaxSinkIDLength)
	}
}
