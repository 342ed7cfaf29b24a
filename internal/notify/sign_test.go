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
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// testSecret is a 32-byte key in the whsec_ form.
var testSecret = "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))

// TestSignatureVerifiedByReferenceLibrary checks our signature with the
// Standard Webhooks reference verifier, including with two secrets
// (rotation) where the receiver knows either one.
func TestSignatureVerifiedByReferenceLibrary(t *testing.T) {
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another key of twenty-four+ bytes"))
	body := []byte(`{"specversion":"1.0","id":"evt_1","data":{"x":"ü\n"}}`)
	for _, secrets := range [][]string{{testSecret}, {testSecret, other}, {other, testSecret}} {
		s, err := NewSigner(secrets...)
		if err != nil {
			t.Fatal(err)
		}
		h := http.Header{}
		s.SetHeaders(h, "evt_1", time.Now(), body)
		for _, sec := range secrets {
			wh, err := standardwebhooks.NewWebhook(sec)
			if err != nil {
				t.Fatal(err)
			}
			if err := wh.Verify(body, h); err != nil {
				t.Errorf("reference verifier rejected %q: %v", h.Get(HeaderSignature), err)
			}
			// Tampering with the body, the id or the timestamp breaks it.
			if wh.Verify(append([]byte(nil), append(body, ' ')...), h) == nil {
				t.Error("tampered body verified")
			}
			h2 := h.Clone()
			h2.Set(HeaderID, "evt_2")
			if wh.Verify(body, h2) == nil {
				t.Error("changed id verified")
			}
		}
	}
}

func TestParseSecret(t *testing.T) {
	for _, tc := range []struct {
		in, wantErr string
	}{
		{testSecret, ""},
		{"  " + testSecret + "\n", ""}, // a Secret file's trailing newline
		{strings.TrimPrefix(testSecret, "whsec_"), `does not start with "whsec_"`},
		{"whsec_!!!", "not standard base64"},
		{"whsec_" + base64.StdEncoding.EncodeToString([]byte("short")), "5 bytes"},
		{"whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 65)), "65 bytes"},
	} {
		_, err := ParseSecret(tc.in)
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("ParseSecret(%q) = %v, want %q", tc.in, err, tc.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) && len(tc.in) > 10 {
			t.Errorf("error %q repeats the secret", err)
		}
	}
	if _, err := NewSigner(); err == nil {
		t.Error("NewSigner() with no secret accepted")
	}
}

// FuzzParseSecret: never panics; whatever it accepts signs messages the
// reference library verifies.
func FuzzParseSecret(f *testing.F) {
	f.Add(testSecret)
	f.Add("whsec_")
	f.Add("whsec_====")
	f.Add("whsec_" + base64.StdEncoding.EncodeToString(make([]byte, 64)))
	f.Fuzz(func(t *testing.T, sec string) {
		if _, err := ParseSecret(sec); err != nil {
			return
		}
		s, err := NewSigner(sec)
		if err != nil {
			t.Fatalf("ParseSecret accepted what NewSigner refused: %v", err)
		}
		h := http.Header{}
		s.SetHeaders(h, "evt_x", time.Now(), []byte("body"))
		wh, err := standardwebhooks.NewWebhook(strings.TrimSpace(sec))
		if err != nil {
			t.Fatalf("reference library refused an accepted secret: %v", err)
		}
		if err := wh.Verify([]byte("body"), h); err != nil {
			t.Fatalf("reference verifier: %v", err)
		}
	})
}
