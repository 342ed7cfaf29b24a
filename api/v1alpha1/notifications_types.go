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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NotificationsSpec lists the webhooks that receive forecast notifications.
type NotificationsSpec struct {
	// Sinks are the webhook receivers. Each gets its own outbox, retries and
	// status (status.notifications.sinks).
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	Sinks []WebhookSink `json:"sinks"`
}

// WebhookSink is one HTTP endpoint that receives signed CloudEvents.
// +kubebuilder:validation:XValidation:rule="self.events.exists(e, e.type != 'Recovered')",fieldPath=".events",message="spec.notifications.sinks[].events needs an event other than Recovered: Recovered only reports that one of the others cleared",messageExpression=`'spec.notifications.sinks[].events of sink ' + self.name + ' needs an event other than Recovered: Recovered only reports that one of the others cleared'`
type WebhookSink struct {
	// Name identifies the sink in status, metrics (sink="<namespace>/<policy>/<name>")
	// and the outbox.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`

	// URL the events are POSTed to: http or https, without credentials (put
	// tokens in headersSecretRef). Redirects are not followed.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^/@\s]+(/[^\s]*)?$`
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getHostname() != ''",message="spec.notifications.sinks[].url must be an absolute http or https URL with a host",messageExpression=`'spec.notifications.sinks[].url must be an absolute http or https URL with a host, not ' + self`
	URL string `json:"url"`

	// SigningSecretRef names the Secret key holding the Standard Webhooks
	// signing secret ("whsec_" + base64 of a 24 to 64 byte key). Several
	// secrets separated by spaces sign with each (for rotation).
	// +required
	SigningSecretRef SecretKeyReference `json:"signingSecretRef"`

	// HeadersSecretRef names a Secret whose keys are extra request headers
	// and whose values are their values (for example Authorization). It cannot
	// replace Content-Type, User-Agent, Host or the webhook-* headers.
	// +optional
	HeadersSecretRef *LocalSecretReference `json:"headersSecretRef,omitempty"`

	// Events are the notifications this sink wants.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	Events []SinkEvent `json:"events"`
}

// LocalSecretReference names a Secret in the policy's namespace.
type LocalSecretReference struct {
	// Name of the Secret, in the policy's namespace.
	// +required
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// NotificationEventType is a notification a sink can ask for.
// +kubebuilder:validation:Enum=PredictedBreach;UsageThreshold;LimitReached;Recovered
type NotificationEventType string

const (
	// EventPredictedBreach fires when a metric's breach date comes within withinDays.
	EventPredictedBreach NotificationEventType = "PredictedBreach"
	// EventUsageThreshold fires when usage crosses one of percentages.
	EventUsageThreshold NotificationEventType = "UsageThreshold"
	// EventLimitReached fires when usage reaches the limit.
	EventLimitReached NotificationEventType = "LimitReached"
	// EventRecovered fires when a condition of the sink's other events clears.
	EventRecovered NotificationEventType = "Recovered"
)

// SinkEvent is one notification a sink wants, with its parameters.
// +kubebuilder:validation:XValidation:rule="!has(self.withinDays) || self.type == 'PredictedBreach'",fieldPath=".withinDays",message="spec.notifications.sinks[].events[].withinDays applies only to type PredictedBreach",messageExpression=`'spec.notifications.sinks[].events[].withinDays applies only to type PredictedBreach, not ' + self.type`
// +kubebuilder:validation:XValidation:rule="!has(self.basis) || self.type == 'PredictedBreach'",fieldPath=".basis",message="spec.notifications.sinks[].events[].basis applies only to type PredictedBreach",messageExpression=`'spec.notifications.sinks[].events[].basis applies only to type PredictedBreach, not ' + self.type`
// +kubebuilder:validation:XValidation:rule="(self.type == 'UsageThreshold') == has(self.percentages)",fieldPath=".percentages",message="spec.notifications.sinks[].events[].percentages is required for type UsageThreshold and applies only to it",messageExpression=`'spec.notifications.sinks[].events[].percentages ' + (self.type == 'UsageThreshold' ? 'is required for type UsageThreshold' : 'applies only to type UsageThreshold, not ' + self.type)`
type SinkEvent struct {
	// Type is PredictedBreach, UsageThreshold, LimitReached or Recovered.
	// +required
	Type NotificationEventType `json:"type"`

	// WithinDays (PredictedBreach): notify when the breach is at most this
	// many days away. Defaults to 14.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3650
	WithinDays *int32 `json:"withinDays,omitempty"`

	// Basis (PredictedBreach): which breach date counts, expected or earliest
	// (the earliest date of the breach window). Defaults to spec.thresholds.basis.
	// +optional
	Basis ThresholdBasis `json:"basis,omitempty"`

	// Percentages (UsageThreshold): usage percentages of the limit to report
	// crossings of, each 1 to 1000; order does not matter.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:items:Minimum=1
	// +kubebuilder:validation:items:Maximum=1000
	Percentages []int32 `json:"percentages,omitempty"`
}

// NotificationsStatus reports the delivery health of each sink.
type NotificationsStatus struct {
	// Sinks holds one entry per configured sink.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=8
	Sinks []SinkStatus `json:"sinks,omitempty"`
}

// SinkStatus is one sink's delivery health. It is refreshed when the sink's
// health changes (first failure, failing, recovered, an expiry) and at every
// reconcile of the policy.
type SinkStatus struct {
	// Name of the sink.
	Name string `json:"name"`
	// LastDeliveryTime is when an event was last delivered (acknowledged with a 2xx).
	// +optional
	LastDeliveryTime *metav1.Time `json:"lastDeliveryTime,omitempty"`
	// LastFailureTime is when an attempt last failed.
	// +optional
	LastFailureTime *metav1.Time `json:"lastFailureTime,omitempty"`
	// ConsecutiveFailures counts failed attempts since the last delivery.
	// +optional
	ConsecutiveFailures int64 `json:"consecutiveFailures,omitempty"`
	// Expired counts events dropped after their last retry failed.
	// +optional
	Expired int64 `json:"expired,omitempty"`
	// LastError is the last failed attempt's error, or why the sink cannot be
	// used (a missing Secret, a bad signing secret).
	// +optional
	// +kubebuilder:validation:MaxLength=512
	LastError string `json:"lastError,omitempty"`
}

// ConditionNotificationsHealthy is True when every sink is configured and
// none is failing; False names the sinks that are not.
const ConditionNotificationsHealthy = "NotificationsHealthy"
