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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	subv1 "github.com/bakery-ia/subscription-operator/api/v1alpha1"
	"github.com/bakery-ia/subscription-operator/controllers"
)

// reconcilingState is the policy's Reconciling condition as one status write
// left it, with the status.observedGeneration beside it.
type reconcilingState struct {
	Status             metav1.ConditionStatus
	Reason, Message    string
	ObservedGeneration int64 // of the condition
	StatusObserved     int64 // status.observedGeneration
}

var _ = Describe("Reconciling (kstatus, as Flux)", func() {
	It("is True (Progressing) from the start of a new generation's reconcile, and False (Reconciled) when it ends", func() {
		startOperator()
		ns := newNamespace("recon")
		wc, err := client.NewWithWatch(kube.Config, client.Options{Scheme: kube.Scheme})
		Expect(err).NotTo(HaveOccurred())

		// A watch sees every status write in order, including the transient
		// Reconciling=True that a poll would miss.
		states := func(w watch.Interface, gen int64) []reconcilingState {
			GinkgoHelper()
			var out []reconcilingState
			deadline := time.After(30 * time.Second)
			for {
				select {
				case <-deadline:
					Fail("the policy never observed its generation")
				case ev, ok := <-w.ResultChan():
					Expect(ok).To(BeTrue(), "watch closed")
					pol, isPolicy := ev.Object.(*subv1.SubscriptionPolicy)
					if !isPolicy {
						continue
					}
					if c := condition(pol.Status.Conditions, subv1.ConditionReconciling); c != nil {
						s := reconcilingState{c.Status, c.Reason, c.Message, c.ObservedGeneration, pol.Status.ObservedGeneration}
						if len(out) == 0 || out[len(out)-1] != s {
							out = append(out, s)
						}
					}
					if pol.Status.ObservedGeneration == gen {
						return out
					}
				}
			}
		}

		var list subv1.SubscriptionPolicyList
		w, err := wc.Watch(ctx, &list, client.InNamespace(ns))
		Expect(err).NotTo(HaveOccurred())
		create(testPolicy(ns, "UTC"))
		Expect(states(w, 1)).To(Equal([]reconcilingState{
			{metav1.ConditionTrue, controllers.ReasonProgressing, "reconciling generation 1", 1, 0},
			{metav1.ConditionFalse, controllers.ReasonReconciled, "reconciled", 1, 1},
		}))
		w.Stop()

		By("an edit is a new generation: the spec write shows the old state, then Progressing, then Reconciled")
		w, err = wc.Watch(ctx, &list, client.InNamespace(ns), &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: getPolicy(ns).ResourceVersion}})
		Expect(err).NotTo(HaveOccurred())
		defer w.Stop()
		edit(getPolicy(ns), func(p *subv1.SubscriptionPolicy) { p.Spec.Snapshot.MinHistoryDays = 5 })
		Expect(states(w, 2)).To(Equal([]reconcilingState{
			{metav1.ConditionFalse, controllers.ReasonReconciled, "reconciled", 1, 1},
			{metav1.ConditionTrue, controllers.ReasonProgressing, "reconciling generation 2", 2, 1},
			{metav1.ConditionFalse, controllers.ReasonReconciled, "reconciled", 2, 2},
		}))
	})
})
