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

package browser

import (
	"math"
	"strings"
	"testing"
)

func TestContrast(t *testing.T) {
	for _, c := range []struct {
		fg, bg string
		want   float64
	}{
		{"rgb(0, 0, 0)", "rgb(255, 255, 255)", 21},
		{"rgb(255, 255, 255)", "rgb(255, 255, 255)", 1},
		{"rgb(255, 255, 255)", "rgb(183, 28, 28)", 6.57},
		{"rgba(0, 0, 0, 0.5)", "rgb(255, 255, 255)", 3.98},
		{"rgb(119, 119, 119)", "rgb(255, 255, 255)", 4.48},
	} {
		got, err := Contrast(c.fg, c.bg)
		if err != nil || math.Abs(got-c.want) > 0.02 {
			t.Errorf("Contrast(%s, %s) = %.3f, %v; want %.2f", c.fg, c.bg, got, err, c.want)
		}
	}
	for _, bad := range [][2]string{{"red", "rgb(1,1,1)"}, {"rgb(1,1)", "rgb(1,1,1)"}, {"rgb(0,0,0)", "rgba(0, 0, 0, 0)"}, {"rgb(a,b,c)", "rgb(1,1,1)"}} {
		if _, err := Contrast(bad[0], bad[1]); err == nil {
			t.Errorf("Contrast(%q, %q): no error", bad[0], bad[1])
		}
	}
}

func TestPathNamesTheInstallCommand(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Path()
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y chromium") {
		t.Errorf("Path() = %v, want the install command", err)
	}
}
