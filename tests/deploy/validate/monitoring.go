// The Prometheus operator's CRDs (monitoring.coreos.com/v1): PodMonitor, ServiceMonitor, PrometheusRule, decoded
// strictly into the operator's own Go types (github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring,
// a module of API types only). Strict decoding rejects unknown and mistyped fields; the checks below add what the
// CRD's OpenAPI schema (kubebuilder markers) and the operator would refuse on top: duration syntax, a rule that is
// both or neither alert and record, an endpoint without a port. PromQL itself is parsed by promtool
// (tests/deploy/monitoring.sh), not here: the Prometheus module would pull half of Prometheus into this program.
package main

import (
	"regexp"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The pattern of monitoringv1.Duration (its +kubebuilder:validation:Pattern marker).
var promDuration = regexp.MustCompile(`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)

// Prometheus label names: no dots or slashes, unlike Kubernetes label keys.
var promLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

func checkDuration(path *field.Path, value string, errs field.ErrorList) field.ErrorList {
	if value != "" && !promDuration.MatchString(value) {
		errs = append(errs, field.Invalid(path, value, "not a Prometheus duration (e.g. 30s, 5m, 1h30m)"))
	}
	return errs
}

func checkSelector(path *field.Path, selector *metav1.LabelSelector, errs field.ErrorList) field.ErrorList {
	if len(selector.MatchLabels) == 0 && len(selector.MatchExpressions) == 0 {
		// An empty selector selects every pod or Service of the namespace: never what a monitor of one service means.
		return append(errs, field.Required(path, "an empty selector matches everything in the namespace"))
	}
	if _, err := metav1.LabelSelectorAsSelector(selector); err != nil {
		errs = append(errs, field.Invalid(path, selector, err.Error()))
	}
	return errs
}

func monitoringChecks(obj any) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	switch o := obj.(type) {
	case *monitoringv1.PodMonitor:
		errs = checkSelector(spec.Child("selector"), &o.Spec.Selector, errs)
		if len(o.Spec.PodMetricsEndpoints) == 0 {
			errs = append(errs, field.Required(spec.Child("podMetricsEndpoints"), ""))
		}
		for i, e := range o.Spec.PodMetricsEndpoints {
			path := spec.Child("podMetricsEndpoints").Index(i)
			if (e.Port == nil || *e.Port == "") && e.PortNumber == nil && e.TargetPort == nil {
				errs = append(errs, field.Required(path.Child("port"), "name the container port to scrape"))
			}
			errs = checkDuration(path.Child("interval"), string(e.Interval), errs)
			errs = checkDuration(path.Child("scrapeTimeout"), string(e.ScrapeTimeout), errs)
		}
	case *monitoringv1.ServiceMonitor:
		errs = checkSelector(spec.Child("selector"), &o.Spec.Selector, errs)
		if len(o.Spec.Endpoints) == 0 {
			errs = append(errs, field.Required(spec.Child("endpoints"), ""))
		}
		for i, e := range o.Spec.Endpoints {
			path := spec.Child("endpoints").Index(i)
			if e.Port == "" && e.TargetPort == nil {
				errs = append(errs, field.Required(path.Child("port"), "name the Service port to scrape"))
			}
			errs = checkDuration(path.Child("interval"), string(e.Interval), errs)
			errs = checkDuration(path.Child("scrapeTimeout"), string(e.ScrapeTimeout), errs)
		}
	case *monitoringv1.PrometheusRule:
		groups := map[string]bool{}
		for i, g := range o.Spec.Groups {
			gpath := spec.Child("groups").Index(i)
			if g.Name == "" {
				errs = append(errs, field.Required(gpath.Child("name"), ""))
			} else if groups[g.Name] {
				errs = append(errs, field.Duplicate(gpath.Child("name"), g.Name))
			}
			groups[g.Name] = true
			if g.Interval != nil {
				errs = checkDuration(gpath.Child("interval"), string(*g.Interval), errs)
			}
			if len(g.Rules) == 0 {
				errs = append(errs, field.Required(gpath.Child("rules"), "a group without rules"))
			}
			for j, r := range g.Rules {
				errs = append(errs, ruleChecks(gpath.Child("rules").Index(j), r)...)
			}
		}
		if len(o.Spec.Groups) == 0 {
			errs = append(errs, field.Required(spec.Child("groups"), ""))
		}
	}
	return errs
}

func ruleChecks(path *field.Path, r monitoringv1.Rule) field.ErrorList {
	var errs field.ErrorList
	if (r.Alert == "") == (r.Record == "") {
		errs = append(errs, field.Invalid(path, r.Alert+r.Record, "a rule is either an alert or a recording rule"))
	}
	if r.Expr.String() == "" {
		errs = append(errs, field.Required(path.Child("expr"), ""))
	}
	if r.For != nil {
		errs = checkDuration(path.Child("for"), string(*r.For), errs)
	}
	if r.Record != "" && (r.For != nil || len(r.Annotations) > 0) {
		errs = append(errs, field.Invalid(path, r.Record, "a recording rule has no `for` and no annotations"))
	}
	for key := range r.Labels {
		if !promLabelName.MatchString(key) {
			errs = append(errs, field.Invalid(path.Child("labels"), key, "not a Prometheus label name"))
		}
	}
	for key := range r.Annotations {
		if !promLabelName.MatchString(key) {
			errs = append(errs, field.Invalid(path.Child("annotations"), key, "not a Prometheus label name"))
		}
	}
	return errs
}
