package controller

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/ovsnet/ovsnet/model"
)

// errorBody is the JSON of every error answer: Docker's {"message": ...},
// plus, for bad input to a network create, the request field it concerns,
// so the web UI can show the message next to that field.
type errorBody struct {
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Fields of a network create that errors can point at. They are the web
// UI's form field names and are documented in the OpenAPI document.
const (
	fieldName     = "name"
	fieldDriver   = "driver"
	fieldHost     = "host"
	fieldSubnet   = "subnet"
	fieldGateway  = "gateway"
	fieldIPRange  = "ipRange"
	fieldSubnet6  = "subnet6"
	fieldGateway6 = "gateway6"
	fieldMTU      = "mtu"
)

// fieldKeywords map words of validation messages to fields. The field
// whose word comes first in a message wins: "gateway X is not in subnet
// Y" is about the gateway, "subnet X has no gateway" about the subnet.
var fieldKeywords = []struct{ word, field string }{
	{"ip-range", fieldIPRange},
	{"gateway", fieldGateway},
	{"subnet", fieldSubnet},
	{"pool", fieldSubnet},
	{"mtu", fieldMTU},
	{"driver", fieldDriver},
	{"scope", fieldDriver},
	{"host", fieldHost},
	{"name", fieldName},
}

// errorField says which create field a failure is about, "" when it is
// about none in particular (or the failure is not bad input). Validation
// messages are written for people (and match Docker's where Docker has
// one), so the field is read from them here, in one place, rather than
// threaded through every check; errorfield_test pins every message the
// create path produces.
func errorField(err error) string {
	if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrConflict) && !errors.Is(err, ErrForbidden) {
		return ""
	}
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "network with name"), strings.Contains(msg, "network name"):
		return fieldName
	case strings.Contains(msg, "auxiliary"), strings.Contains(msg, "ingress"), strings.Contains(msg, "config-only"),
		strings.Contains(msg, "vni"), strings.Contains(msg, "ipam driver"):
		return ""
	case strings.HasPrefix(msg, "option "+strings.ToLower(model.OptMTU)):
		return fieldMTU
	case strings.HasPrefix(msg, "option "+strings.ToLower(model.OptHost)):
		return fieldHost
	case strings.Contains(msg, "needs a subnet"):
		return fieldSubnet
	}
	field, at := "", len(msg)
	for _, k := range fieldKeywords {
		if i := strings.Index(msg, k.word); i >= 0 && i < at {
			field, at = k.field, i
		}
	}
	// An IPv6 subnet or gateway has fields of its own.
	if field == fieldSubnet || field == fieldGateway {
		if anyAddrIs6(err.Error()) || (!hasAddr(err.Error()) && strings.Contains(msg, "ipv6 subnet")) {
			if field == fieldSubnet {
				return fieldSubnet6
			}
			return fieldGateway6
		}
	}
	return field
}

// anyAddrIs6 says whether s names an IPv6 address or prefix: "gateway
// 10.0.0.1 is not in subnet fd00::/64" is about the IPv6 gateway.
func anyAddrIs6(s string) bool {
	for _, w := range strings.Fields(s) {
		w = strings.Trim(w, ",:;()\"'")
		if p, err := netip.ParsePrefix(w); err == nil && p.Addr().Is6() {
			return true
		}
		if a, err := netip.ParseAddr(w); err == nil && a.Is6() {
			return true
		}
		// Invalid input such as "fd00::/129" still names an IPv6 subnet.
		if strings.Count(w, ":") >= 2 && strings.Contains(w, "/") {
			return true
		}
	}
	return false
}

func hasAddr(s string) bool {
	for _, w := range strings.Fields(s) {
		w = strings.Trim(w, ",:;()\"'")
		if _, err := netip.ParsePrefix(w); err == nil {
			return true
		}
		if _, err := netip.ParseAddr(w); err == nil {
			return true
		}
	}
	return false
}
