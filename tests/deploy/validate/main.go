// validate: strict, offline schema validation of rendered Kubernetes manifests.
//
//	validate FILE...   (multi-document YAML, e.g. the output of `kubectl kustomize`; "-" reads stdin)
//
// Every document is decoded into the Go type the Kubernetes API server itself uses for its apiVersion and kind
// (k8s.io/api), with the API machinery's strict decoder: an unknown field, a duplicate field, a value of the
// wrong type or a malformed quantity is an error, exactly as `kubectl apply --validate=strict` would report.
// A kind that is not registered below is an error too, so a new kind is checked only once someone adds it.
// On top of the schema, a few checks the API server would make at admission (names, labels, selectors).
//
// Traefik's IngressRoute (traefik.io/v1alpha1) is a CRD. Traefik's own Go module drags in most of Traefik, so
// ingressroute.go mirrors the fields of its IngressRouteSpec (v3) that a route like ours may use and decodes
// strictly into that mirror; the route's `match` rule is parsed with Traefik v3's rule grammar.
//
// The Prometheus operator's PodMonitor, ServiceMonitor and PrometheusRule (deploy/k8s/components/monitoring) decode
// into the operator's own API types; monitoring.go adds the checks their CRD schema makes beyond the field names.
//
// Prints one line per object ("ok" or the errors) and exits 1 if any object failed.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	sigyaml "sigs.k8s.io/yaml"
)

func newScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme, policyv1.AddToScheme,
		networkingv1.AddToScheme, rbacv1.AddToScheme, autoscalingv2.AddToScheme, monitoringv1.AddToScheme,
	} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	return scheme
}

type result struct {
	failed int
	total  int
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: validate FILE... (multi-document YAML; - for stdin)")
		os.Exit(2)
	}
	decoder := serializer.NewCodecFactory(newScheme(), serializer.EnableStrict).UniversalDeserializer()
	var res result
	for _, name := range os.Args[1:] {
		if err := validateFile(name, decoder, &res); err != nil {
			fmt.Printf("FAIL %s: %v\n", name, err)
			res.failed++
		}
	}
	fmt.Printf("validate: %d objects, %d failed\n", res.total, res.failed)
	if res.failed > 0 || res.total == 0 {
		os.Exit(1)
	}
}

func validateFile(name string, decoder runtime.Decoder, res *result) error {
	var in io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(in))
	for index := 0; ; index++ {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("document %d: %w", index, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		res.total++
		id, errs := validateDocument(doc, decoder)
		if len(errs) == 0 {
			fmt.Printf("ok   %s\n", id)
			continue
		}
		res.failed++
		for _, e := range errs {
			fmt.Printf("FAIL %s: %v\n", id, e)
		}
	}
}

func stripComments(doc []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out.Write(line)
			out.WriteByte('\n')
		}
	}
	return out.Bytes()
}

func validateDocument(doc []byte, decoder runtime.Decoder) (string, []error) {
	var head struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
		} `json:"metadata"`
	}
	if err := sigyaml.Unmarshal(doc, &head); err != nil {
		return "<unparsable>", []error{err}
	}
	id := fmt.Sprintf("%s %s/%s", head.APIVersion, head.Kind, head.Metadata.Name)
	if head.Metadata.Namespace != "" {
		id = fmt.Sprintf("%s %s/%s/%s", head.APIVersion, head.Kind, head.Metadata.Namespace, head.Metadata.Name)
	}
	if head.APIVersion == "" || head.Kind == "" {
		return id, []error{errors.New("apiVersion and kind are required")}
	}
	if head.APIVersion == traefikAPIVersion {
		return id, validateTraefik(head.Kind, doc)
	}
	obj, _, err := decoder.Decode(doc, nil, nil)
	if err != nil {
		switch {
		case runtime.IsStrictDecodingError(err):
			return id, []error{fmt.Errorf("strict decoding: %w", err)}
		case runtime.IsNotRegisteredError(err):
			return id, []error{fmt.Errorf("no Go type registered for %s %s (add its package to newScheme)", head.APIVersion, head.Kind)}
		default:
			return id, []error{err}
		}
	}
	return id, semanticChecks(obj)
}

// semanticChecks: what the API server would refuse at admission, beyond the schema, for the kinds we use.
func semanticChecks(obj runtime.Object) []error {
	var errs field.ErrorList
	accessor, ok := obj.(metav1.Object)
	if !ok {
		return nil
	}
	meta := field.NewPath("metadata")
	if _, isNamespace := obj.(*corev1.Namespace); isNamespace {
		for _, msg := range validation.IsDNS1123Label(accessor.GetName()) {
			errs = append(errs, field.Invalid(meta.Child("name"), accessor.GetName(), msg))
		}
	} else {
		for _, msg := range validation.IsDNS1123Subdomain(accessor.GetName()) {
			errs = append(errs, field.Invalid(meta.Child("name"), accessor.GetName(), msg))
		}
	}
	errs = append(errs, metavalidation.ValidateLabels(accessor.GetLabels(), meta.Child("labels"))...)
	for key := range accessor.GetAnnotations() {
		for _, msg := range validation.IsQualifiedName(strings.ToLower(key)) {
			errs = append(errs, field.Invalid(meta.Child("annotations"), key, msg))
		}
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		errs = append(errs, workloadChecks(o.Spec.Selector, &o.Spec.Template, o.Spec.Replicas, nil)...)
	case *appsv1.StatefulSet:
		claims := map[string]bool{}
		for _, claim := range o.Spec.VolumeClaimTemplates {
			claims[claim.Name] = true
		}
		errs = append(errs, workloadChecks(o.Spec.Selector, &o.Spec.Template, o.Spec.Replicas, claims)...)
		if o.Spec.ServiceName == "" {
			errs = append(errs, field.Required(field.NewPath("spec", "serviceName"), "a StatefulSet needs its governing Service"))
		}
	case *batchv1.Job:
		errs = append(errs, podChecks(&o.Spec.Template.Spec, field.NewPath("spec", "template", "spec"), nil)...)
		if p := o.Spec.Template.Spec.RestartPolicy; p != corev1.RestartPolicyNever && p != corev1.RestartPolicyOnFailure {
			errs = append(errs, field.NotSupported(field.NewPath("spec", "template", "spec", "restartPolicy"), p, []string{"Never", "OnFailure"}))
		}
	case *corev1.Service:
		for i, port := range o.Spec.Ports {
			path := field.NewPath("spec", "ports").Index(i)
			if port.Port < 1 || port.Port > 65535 {
				errs = append(errs, field.Invalid(path.Child("port"), port.Port, "must be 1..65535"))
			}
			if port.Name != "" {
				for _, msg := range validation.IsValidPortName(port.Name) {
					errs = append(errs, field.Invalid(path.Child("name"), port.Name, msg))
				}
			}
		}
	case *policyv1.PodDisruptionBudget:
		if (o.Spec.MinAvailable == nil) == (o.Spec.MaxUnavailable == nil) {
			errs = append(errs, field.Invalid(field.NewPath("spec"), "", "exactly one of minAvailable and maxUnavailable"))
		}
	default:
		errs = append(errs, monitoringChecks(obj)...)
	}
	out := make([]error, 0, len(errs))
	for _, e := range errs {
		out = append(out, e)
	}
	return out
}

func workloadChecks(selector *metav1.LabelSelector, template *corev1.PodTemplateSpec, replicas *int32, claims map[string]bool) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	if selector == nil || (len(selector.MatchLabels) == 0 && len(selector.MatchExpressions) == 0) {
		errs = append(errs, field.Required(spec.Child("selector"), "a workload needs a non-empty selector"))
	} else if sel, err := metav1.LabelSelectorAsSelector(selector); err != nil {
		errs = append(errs, field.Invalid(spec.Child("selector"), selector, err.Error()))
	} else if !sel.Matches(labels.Set(template.Labels)) {
		errs = append(errs, field.Invalid(spec.Child("template", "metadata", "labels"), template.Labels, "`selector` does not match template `labels`"))
	}
	if replicas != nil && *replicas < 0 {
		errs = append(errs, field.Invalid(spec.Child("replicas"), *replicas, "must be >= 0"))
	}
	errs = append(errs, metavalidation.ValidateLabels(template.Labels, spec.Child("template", "metadata", "labels"))...)
	errs = append(errs, podChecks(&template.Spec, spec.Child("template", "spec"), claims)...)
	return errs
}

// podChecks; claims are a StatefulSet's volumeClaimTemplates, which containers mount like pod volumes.
func podChecks(pod *corev1.PodSpec, path *field.Path, claims map[string]bool) field.ErrorList {
	var errs field.ErrorList
	if len(pod.Containers) == 0 {
		errs = append(errs, field.Required(path.Child("containers"), ""))
	}
	volumes := map[string]bool{}
	for name := range claims {
		volumes[name] = true
	}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
	}
	names := map[string]bool{}
	for i, c := range pod.Containers {
		cpath := path.Child("containers").Index(i)
		if names[c.Name] {
			errs = append(errs, field.Duplicate(cpath.Child("name"), c.Name))
		}
		names[c.Name] = true
		for _, msg := range validation.IsDNS1123Label(c.Name) {
			errs = append(errs, field.Invalid(cpath.Child("name"), c.Name, msg))
		}
		if c.Image == "" {
			errs = append(errs, field.Required(cpath.Child("image"), ""))
		}
		ports := map[string]bool{}
		for j, p := range c.Ports {
			if p.Name == "" {
				continue
			}
			for _, msg := range validation.IsValidPortName(p.Name) {
				errs = append(errs, field.Invalid(cpath.Child("ports").Index(j).Child("name"), p.Name, msg))
			}
			ports[p.Name] = true
		}
		env := map[string]bool{}
		for j, e := range c.Env {
			for _, msg := range validation.IsEnvVarName(e.Name) {
				errs = append(errs, field.Invalid(cpath.Child("env").Index(j).Child("name"), e.Name, msg))
			}
			if env[e.Name] {
				errs = append(errs, field.Duplicate(cpath.Child("env").Index(j).Child("name"), e.Name))
			}
			env[e.Name] = true
			if e.Value != "" && e.ValueFrom != nil {
				errs = append(errs, field.Invalid(cpath.Child("env").Index(j), e.Name, "value and valueFrom are exclusive"))
			}
		}
		for j, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				errs = append(errs, field.NotFound(cpath.Child("volumeMounts").Index(j).Child("name"), m.Name))
			}
		}
		for _, probe := range []struct {
			name  string
			probe *corev1.Probe
		}{{"livenessProbe", c.LivenessProbe}, {"readinessProbe", c.ReadinessProbe}, {"startupProbe", c.StartupProbe}} {
			if probe.probe == nil || probe.probe.HTTPGet == nil {
				continue
			}
			port := probe.probe.HTTPGet.Port
			if port.StrVal != "" && !ports[port.StrVal] {
				errs = append(errs, field.NotFound(cpath.Child(probe.name, "httpGet", "port"), port.StrVal))
			}
		}
	}
	return errs
}
