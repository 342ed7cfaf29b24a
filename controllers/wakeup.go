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
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Wakeups re-queues objects at a time read from the injected clock. With a real
// clock it behaves like RequeueAfter; with a fake clock, stepping the clock in a
// test fires the timers, so tests move time instead of sleeping.
type Wakeups struct {
	clock  clock.WithDelayedExecution
	ch     chan event.GenericEvent
	mu     sync.Mutex
	timers map[types.NamespacedName]clock.Timer
}

// NewWakeups returns a Wakeups driven by c.
func NewWakeups(c clock.WithDelayedExecution) *Wakeups {
	return &Wakeups{clock: c, ch: make(chan event.GenericEvent, 1024), timers: map[types.NamespacedName]clock.Timer{}}
}

// At schedules one reconcile of obj at t, replacing an earlier wakeup for it.
func (w *Wakeups) At(obj client.Object, t time.Time) {
	key := client.ObjectKeyFromObject(obj)
	copied := obj.DeepCopyObject().(client.Object)
	w.mu.Lock()
	defer w.mu.Unlock()
	if old, ok := w.timers[key]; ok {
		old.Stop()
	}
	d := t.Sub(w.clock.Now())
	w.timers[key] = w.clock.AfterFunc(d, func() { w.Now(copied) })
}

// Now queues obj for reconciliation immediately.
func (w *Wakeups) Now(obj client.Object) { w.ch <- event.GenericEvent{Object: obj} }

// Forget drops obj's pending wakeup (the object was deleted).
func (w *Wakeups) Forget(key types.NamespacedName) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.timers[key]; ok {
		t.Stop()
		delete(w.timers, key)
	}
}

// Source feeds the wakeups into a controller.
func (w *Wakeups) Source() source.Source {
	return source.Channel(w.ch, &handler.EnqueueRequestForObject{})
}
