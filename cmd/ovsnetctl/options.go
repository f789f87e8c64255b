package main

import (
	"fmt"
	"strings"
)

// parseKeyValues reads repeated key=value flags into a map, as Docker does:
// "key" alone means an empty value. It returns nil when there are none, so
// the request leaves the field out.
func parseKeyValues(flag string, values []string) (map[string]string, error) {
	if len(values) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(values))
	for _, kv := range values {
		key, value, _ := strings.Cut(kv, "=")
		if strings.TrimSpace(key) == "" {
			return nil, fmt.Errorf("invalid %s %q: want key=value", flag, kv)
		}
		m[key] = value
	}
	return m, nil
}

// setOption stores a value that a dedicated flag (e.g. --host) stands for,
// refusing to silently override a different value given as a raw option.
// The map is created when *opts is nil.
func setOption(opts *map[string]string, key, value, flag string) error {
	if old, ok := (*opts)[key]; ok && old != value {
		return fmt.Errorf("%s %s conflicts with option %s=%s", flag, value, key, old)
	}
	if *opts == nil {
		*opts = map[string]string{}
	}
	(*opts)[key] = value
	return nil
}
