package main

// Structural check of Traefik's IngressRoute CRD (traefik.io/v1alpha1, Traefik v3).
//
// Why a mirror instead of Traefik's types: github.com/traefik/traefik/v3's CRD package imports Traefik's
// dynamic configuration, hence most of Traefik (hundreds of modules) for one struct. The structs below copy the
// field names and JSON tags of IngressRouteSpec, Route, Service/LoadBalancerSpec, MiddlewareRef and TLS from
// pkg/provider/kubernetes/crd/traefikio/v1alpha1/ingressroute.go (v3.x), restricted to the fields a plain HTTP
// route uses; a field outside this subset is reported as unknown, so using one means adding it here first.
// The enums the CRD declares (kind: Rule; service kind: Service|TraefikService) are checked, and `match` is
// parsed with the v3 rule grammar, which is what rejects the seed's unbalanced parenthesis.

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	sigyaml "sigs.k8s.io/yaml"
)

const traefikAPIVersion = "traefik.io/v1alpha1"

type ingressRoute struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              ingressRouteSpec `json:"spec"`
}

type ingressRouteSpec struct {
	IngressClassName *string  `json:"ingressClassName,omitempty"`
	EntryPoints      []string `json:"entryPoints,omitempty"`
	Routes           []route  `json:"routes"`
	TLS              *tls     `json:"tls,omitempty"`
}

type route struct {
	Match       string          `json:"match"`
	Kind        string          `json:"kind,omitempty"`
	Priority    int             `json:"priority,omitempty"`
	Services    []loadBalancer  `json:"services,omitempty"`
	Middlewares []middlewareRef `json:"middlewares,omitempty"`
}

type loadBalancer struct {
	Name             string             `json:"name"`
	Kind             string             `json:"kind,omitempty"`
	Namespace        string             `json:"namespace,omitempty"`
	Middlewares      []middlewareRef    `json:"middlewares,omitempty"`
	Port             intstr.IntOrString `json:"port,omitempty"`
	Scheme           string             `json:"scheme,omitempty"`
	Strategy         string             `json:"strategy,omitempty"`
	PassHostHeader   *bool              `json:"passHostHeader,omitempty"`
	ServersTransport string             `json:"serversTransport,omitempty"`
	Weight           *int               `json:"weight,omitempty"`
	NativeLB         *bool              `json:"nativeLB,omitempty"`
}

type middlewareRef struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

type tls struct {
	SecretName   string `json:"secretName,omitempty"`
	CertResolver string `json:"certResolver,omitempty"`
	Options      *struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace,omitempty"`
	} `json:"options,omitempty"`
}

func validateTraefik(kind string, doc []byte) []error {
	if kind != "IngressRoute" {
		return []error{fmt.Errorf("traefik.io kind %q has no structural check here (add one)", kind)}
	}
	data, err := sigyaml.YAMLToJSONStrict(doc) // duplicate keys are errors
	if err != nil {
		return []error{fmt.Errorf("strict decoding: %w", err)}
	}
	var ir ingressRoute
	// Case-sensitive like the API server, unknown and duplicate fields are errors.
	strictErrs, err := kjson.UnmarshalStrict(data, &ir)
	if err != nil {
		return []error{err}
	}
	errs := append([]error{}, strictErrs...)
	for _, msg := range validation.IsDNS1123Subdomain(ir.Name) {
		errs = append(errs, fmt.Errorf("metadata.name: %s", msg))
	}
	if len(ir.Spec.Routes) == 0 {
		errs = append(errs, errors.New("spec.routes: at least one route is required"))
	}
	for i, r := range ir.Spec.Routes {
		at := fmt.Sprintf("spec.routes[%d]", i)
		if r.Kind != "" && r.Kind != "Rule" {
			errs = append(errs, fmt.Errorf("%s.kind: %q is not Rule", at, r.Kind))
		}
		if err := parseRule(r.Match); err != nil {
			errs = append(errs, fmt.Errorf("%s.match %q: %w", at, r.Match, err))
		}
		if len(r.Services) == 0 {
			errs = append(errs, fmt.Errorf("%s.services: a route without services answers 404", at))
		}
		for j, s := range r.Services {
			if s.Name == "" {
				errs = append(errs, fmt.Errorf("%s.services[%d].name is required", at, j))
			}
			if s.Kind != "" && s.Kind != "Service" && s.Kind != "TraefikService" {
				errs = append(errs, fmt.Errorf("%s.services[%d].kind: %q is not Service or TraefikService", at, j, s.Kind))
			}
			if (s.Kind == "" || s.Kind == "Service") && s.Port.IntVal == 0 && s.Port.StrVal == "" {
				errs = append(errs, fmt.Errorf("%s.services[%d].port is required for a Kubernetes Service", at, j))
			}
		}
	}
	return errs
}

// parseRule checks a Traefik v3 router rule:
//
//	expr    := term { ("&&" | "||") term }
//	term    := "!" term | "(" expr ")" | matcher
//	matcher := Name "(" string { "," string } ")"      string: `…` or "…"
func parseRule(rule string) error {
	p := &ruleParser{in: rule}
	if strings.TrimSpace(rule) == "" {
		return errors.New("empty rule")
	}
	if err := p.expr(); err != nil {
		return err
	}
	p.space()
	if p.pos != len(p.in) {
		return fmt.Errorf("unexpected %q at offset %d", p.in[p.pos:], p.pos)
	}
	return nil
}

// Matchers of Traefik v3 HTTP routers, with how many arguments each takes.
var matchers = map[string][2]int{
	"Host": {1, 1}, "HostRegexp": {1, 1}, "Path": {1, 1}, "PathPrefix": {1, 1}, "PathRegexp": {1, 1},
	"Method": {1, 1}, "Header": {2, 2}, "HeaderRegexp": {2, 2}, "Query": {1, 2}, "QueryRegexp": {1, 2},
	"ClientIP": {1, 1},
}

type ruleParser struct {
	in  string
	pos int
}

func (p *ruleParser) space() {
	for p.pos < len(p.in) && unicode.IsSpace(rune(p.in[p.pos])) {
		p.pos++
	}
}

func (p *ruleParser) eat(token string) bool {
	p.space()
	if strings.HasPrefix(p.in[p.pos:], token) {
		p.pos += len(token)
		return true
	}
	return false
}

func (p *ruleParser) expr() error {
	if err := p.term(); err != nil {
		return err
	}
	for p.eat("&&") || p.eat("||") {
		if err := p.term(); err != nil {
			return err
		}
	}
	return nil
}

func (p *ruleParser) term() error {
	if p.eat("!") {
		return p.term()
	}
	if p.eat("(") {
		if err := p.expr(); err != nil {
			return err
		}
		if !p.eat(")") {
			return fmt.Errorf("unbalanced parenthesis: ')' expected at offset %d", p.pos)
		}
		return nil
	}
	p.space()
	start := p.pos
	for p.pos < len(p.in) && (unicode.IsLetter(rune(p.in[p.pos])) || unicode.IsDigit(rune(p.in[p.pos]))) {
		p.pos++
	}
	name := p.in[start:p.pos]
	arity, known := matchers[name]
	if !known {
		return fmt.Errorf("unknown matcher %q at offset %d", name, start)
	}
	if !p.eat("(") {
		return fmt.Errorf("'(' expected after %s", name)
	}
	args := 0
	for {
		p.space()
		if p.pos >= len(p.in) || (p.in[p.pos] != '`' && p.in[p.pos] != '"') {
			return fmt.Errorf("%s: quoted argument expected at offset %d", name, p.pos)
		}
		quote := p.in[p.pos]
		end := strings.IndexByte(p.in[p.pos+1:], quote)
		if end < 0 {
			return fmt.Errorf("%s: unterminated argument", name)
		}
		p.pos += end + 2
		args++
		if !p.eat(",") {
			break
		}
	}
	if !p.eat(")") {
		return fmt.Errorf("%s: ')' expected at offset %d", name, p.pos)
	}
	if args < arity[0] || args > arity[1] {
		return fmt.Errorf("%s takes %d..%d arguments, got %d", name, arity[0], arity[1], args)
	}
	return nil
}
