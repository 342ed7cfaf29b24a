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

package usagepage

import (
	"strconv"
)

// The SVG geometry, computed here so the template only places numbers.

// barWidth is the filled part of a 100-unit bar: current/limit, clamped to
// [0, 100]; a full bar for a limit of 0 and an empty one when unlimited.
func barWidth(current, limit int64) string {
	switch {
	case limit < 0:
		return "0"
	case limit == 0 || current >= limit:
		return "100"
	case current <= 0:
		return "0"
	}
	w := float64(current) / float64(limit) * 100
	return strconv.FormatFloat(w, 'f', 1, 64)
}

// Sparkline box: 120 x 24 with 2 units of margin top and bottom.
const (
	sparkWidth  = 120.0
	sparkTop    = 2.0
	sparkHeight = 20.0
)

// sparkline returns the polyline points of the trend ("" with fewer than two
// points): x by day across the window, y scaled between the window's minimum
// and maximum (a flat line in the middle when they are equal).
func sparkline(pts []TrendPoint) string {
	if len(pts) < 2 {
		return ""
	}
	lo, hi := pts[0].Value, pts[0].Value
	for _, p := range pts[1:] {
		lo, hi = min(lo, p.Value), max(hi, p.Value)
	}
	b := make([]byte, 0, len(pts)*12)
	for i, p := range pts {
		day := min(max(p.Day, 0), TrendDays-1)
		x := float64(day) * sparkWidth / (TrendDays - 1)
		y := sparkTop + sparkHeight/2
		if hi > lo {
			y = sparkTop + sparkHeight - float64(p.Value-lo)/float64(hi-lo)*sparkHeight
		}
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendFloat(b, x, 'f', 1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, y, 'f', 1, 64)
	}
	return string(b)
}
