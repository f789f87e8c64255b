package model

import (
	"strings"
	"testing"
)

func TestCheckNetnsPath(t *testing.T) {
	for _, ok := range []string{"/run/netns/c1", "/var/run/netns/web-1", "/proc/4242/ns/net", "/proc/2/ns/net"} {
		if err := CheckNetnsPath(ok); err != nil {
			t.Errorf("%s refused: %v", ok, err)
		}
	}
	for p, want := range map[string]string{
		"/proc/1/ns/net":                 "PID 1's network namespace",
		"/proc/self/ns/net":              "not a container's network namespace",
		"/proc/01/ns/net":                "not a container's network namespace",
		"/proc/0/ns/net":                 "not a container's network namespace",
		"/proc/12/ns/mnt":                "not a container's network namespace",
		"/proc/12/task/12/ns/net":        "not a container's network namespace",
		"/run/netns/../../proc/1/ns/net": "clean absolute path",
		"/run/netns/":                    "clean absolute path",
		"/run/netns/a/b":                 "not a container's network namespace",
		"/run/netns":                     "not a container's network namespace",
		"/var/run/docker/netns/abc":      "not a container's network namespace",
		"/etc/passwd":                    "not a container's network namespace",
		"run/netns/c1":                   "clean absolute path",
		"/run/netns/" + strings.Repeat("x", MaxNetnsPath): "at most",
	} {
		if err := CheckNetnsPath(p); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%.40s: %v, want %q", p, err, want)
		}
	}
}
