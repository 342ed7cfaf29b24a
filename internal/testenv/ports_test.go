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

package testenv

import (
	"net"
	"strconv"
	"testing"
)

// The port is bindable and, where the kernel's ephemeral range is known and
// leaves room, below it: no outgoing connection can be handed it.
func TestFreePort(t *testing.T) {
	high := min(ephemeralLow(), maxFixedPort)
	for range 20 {
		port, err := FreePort()
		if err != nil {
			t.Fatal(err)
		}
		if high-minFixedPort >= 1024 && (port < minFixedPort || port >= high) {
			t.Fatalf("port %d is outside [%d, %d)", port, minFixedPort, high)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("port %d cannot be bound: %v", port, err)
		}
		_ = l.Close()
	}
}
