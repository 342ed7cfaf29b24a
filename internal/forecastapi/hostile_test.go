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

package forecastapi_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bakery-ia/subscription-operator/internal/forecastapi"
)

// rawExchange writes raw bytes on a new connection to base and reads one
// response (body included).
func rawExchange(base, raw string) (*http.Response, []byte) {
	GinkgoHelper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), 5*time.Second)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = conn.Close() }()
	Expect(conn.SetDeadline(time.Now().Add(20 * time.Second))).To(Succeed())
	_, err = io.WriteString(conn, raw)
	Expect(err).NotTo(HaveOccurred())
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func rawGet(base, target string) (*http.Response, []byte) {
	GinkgoHelper()
	return rawExchange(base, "GET "+target+" HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n")
}

var _ = Describe("hostile clients on a real socket", func() {
	// The open server (no auth) answers every tenant: the worst case for
	// a trick that reaches a tenant by another path.
	DescribeTable("path tricks answer a JSON 404, never a redirect or a forecast",
		func(target string) {
			resp, body := rawGet(openURL, target)
			Expect(resp.StatusCode).To(Equal(http.StatusNotFound), "%s: %s", target, body)
			Expect(resp.Header.Get("Content-Type")).To(Equal("application/json"))
			Expect(resp.Header.Get("X-Content-Type-Options")).To(Equal("nosniff"))
			Expect(resp.Header.Get("Location")).To(BeEmpty())
			Expect(string(body)).To(ContainSubstring(forecastapi.CodeNotFound))
			Expect(string(body)).NotTo(ContainSubstring("trend_data"))
		},
		Entry("double slash in front", "//api/v1/usage-forecast?tenant_id=test-tenant"),
		Entry("double slash inside", "/api/v1//usage-forecast?tenant_id=test-tenant"),
		Entry("dot segment", "/api/v1/./usage-forecast?tenant_id=test-tenant"),
		Entry("dot-dot segment", "/api/v1/x/../usage-forecast?tenant_id=test-tenant"),
		Entry("dot-dot above the root", "/../api/v1/usage-forecast?tenant_id=test-tenant"),
		Entry("encoded dot-dot", "/api/v1/x/%2e%2e/usage-forecast?tenant_id=test-tenant"),
		Entry("encoded upper-case dot-dot", "/api/v1/x/%2E%2E/usage-forecast?tenant_id=test-tenant"),
		Entry("encoded slashes", "/api%2Fv1%2Fusage-forecast?tenant_id=test-tenant"),
		Entry("encoded unreserved character", "/api/v1/usage%2Dforecast?tenant_id=test-tenant"),
		Entry("encoded question mark", "/api/v1/usage-forecast%3Ftenant_id=test-tenant"),
		Entry("trailing slash", "/api/v1/usage-forecast/?tenant_id=test-tenant"),
		Entry("trailing dot", "/api/v1/usage-forecast/.?tenant_id=test-tenant"),
		Entry("backslash", "/api/v1\\usage-forecast?tenant_id=test-tenant"),
		Entry("semicolon parameter", "/api/v1/usage-forecast;x=y?tenant_id=test-tenant"),
		Entry("plans through dot-dot", "/api/v1/usage-forecast/../plans?policy=default"),
	)

	DescribeTable("query tricks are rejected with a JSON 400",
		func(query string) {
			resp, body := rawGet(openURL, forecastapi.PathForecast+"?"+query)
			Expect(resp.StatusCode).To(Equal(http.StatusBadRequest), "%s: %s", query, body)
			Expect(resp.Header.Get("X-Content-Type-Options")).To(Equal("nosniff"))
			Expect(string(body)).NotTo(ContainSubstring("trend_data"))
		},
		Entry("bad percent escape", "tenant_id=test-tenant&x=%zz"),
		Entry("semicolon separator", "tenant_id=test-tenant;namespace=bakery-ia"),
		Entry("NUL in the ID", "tenant_id=test-tenant%00"),
		Entry("encoded slash in the ID", "tenant_id=..%2Ftest-tenant"),
		Entry("upper case", "tenant_id=TEST-TENANT"),
		Entry("trailing space", "tenant_id=test-tenant%20"),
		Entry("plus as space", "tenant_id=test+tenant"),
		Entry("ID given twice", "tenant_id=nobody&tenant_id=test-tenant"),
		Entry("namespace given twice", "tenant_id=test-tenant&namespace=bakery-ia&namespace=twin-a"),
		Entry("namespace with a dot-dot", "tenant_id=test-tenant&namespace=..%2Fbakery-ia"),
		Entry("very long ID", "tenant_id="+strings.Repeat("a", 10000)),
	)

	It("answers thousands of headers, or one huge one, with 431 and nothing else", func() {
		var many strings.Builder
		for i := range 10000 {
			fmt.Fprintf(&many, "X-H-%d: v\r\n", i)
		}
		for _, headers := range []string{many.String(), "X-Big: " + strings.Repeat("a", 100<<10) + "\r\n"} {
			resp, body := rawExchange(openURL, "GET "+forecastapi.PathForecast+"?tenant_id=test-tenant HTTP/1.1\r\nHost: api\r\n"+headers+"\r\n")
			Expect(resp.StatusCode).To(Equal(http.StatusRequestHeaderFieldsTooLarge))
			Expect(string(body)).NotTo(ContainSubstring("trend_data"))
		}
	})

	It("answers an oversized request target with 431 or 414", func() {
		resp, _ := rawGet(openURL, forecastapi.PathForecast+"?tenant_id=test-tenant&pad="+strings.Repeat("a", 200<<10))
		Expect(resp.StatusCode).To(BeElementOf(http.StatusRequestHeaderFieldsTooLarge, http.StatusRequestURITooLong))
	})

	It("answers a body over 64 KiB with a JSON 413, and a 10 MB one without reading it all", func() {
		for _, size := range []int{65<<10 + 1, 10 << 20} {
			body := `{"tenant_id":"` + strings.Repeat("a", size) + `"}`
			r := do(http.MethodPost, openURL+forecastapi.PathTrackUsage, "", body)
			Expect(r.status).To(Equal(http.StatusRequestEntityTooLarge))
			Expect(r.errorCode()).To(Equal(forecastapi.CodeBodyTooLarge))
			Expect(r.header.Get("X-Content-Type-Options")).To(Equal("nosniff"))
		}
	})

	It("cuts off a body sent one byte a second", func() {
		conn, err := net.Dial("tcp", strings.TrimPrefix(openURL, "http://"))
		Expect(err).NotTo(HaveOccurred())
		defer func() { _ = conn.Close() }()
		_, err = io.WriteString(conn, "POST "+forecastapi.PathTrackUsage+" HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
		Expect(err).NotTo(HaveOccurred())
		start := time.Now()
		closed := make(chan time.Duration, 1)
		go func() {
			buf := make([]byte, 4096)
			for {
				_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
				if _, err := conn.Read(buf); err != nil {
					closed <- time.Since(start)
					return
				}
			}
		}()
		ticker := time.NewTicker(time.Second)
		defer ticker.Stop()
		for {
			select {
			case d := <-closed:
				// The read timeout (10 s from the start of the request) ended it.
				Expect(d).To(BeNumerically("<", 25*time.Second))
				return
			case <-ticker.C:
				_, _ = conn.Write([]byte{' '})
				Expect(time.Since(start)).To(BeNumerically("<", 25*time.Second), "the slow body is still being read")
			}
		}
	})

	It("serves at most the configured number of connections at once", func() {
		_, url := startServer(nil, forecastapi.WithoutAuth(), forecastapi.WithMaxConnections(3))
		addr := strings.TrimPrefix(url, "http://")
		var held []net.Conn
		for range 3 {
			c, err := net.Dial("tcp", addr)
			Expect(err).NotTo(HaveOccurred())
			_, err = io.WriteString(c, "GET "+forecastapi.PathPlans+" HTTP/1.1\r\nHost: api\r\n") // headers never finished
			Expect(err).NotTo(HaveOccurred())
			held = append(held, c)
		}
		answered := make(chan int, 1)
		go func() {
			defer GinkgoRecover()
			resp, _ := rawGet(url, forecastapi.PathPlans+"?policy=solo")
			answered <- resp.StatusCode
		}()
		Consistently(answered, 500*time.Millisecond).ShouldNot(Receive())
		Expect(held[0].Close()).To(Succeed())
		Eventually(answered, 10*time.Second).Should(Receive(Equal(http.StatusOK)))
		for _, c := range held[1:] {
			_ = c.Close()
		}
	})
})
