// Package unitfile reads the shipped systemd units and their settings
// files (deploy/systemd) the way systemd does, far enough to know the exact
// command line a unit runs: Environment= defaults, then the
// EnvironmentFile's assignments, then ExecStart with its variables and
// specifiers expanded. The end-to-end test of the units starts the daemons
// with that command line; the pure tests check that units and settings
// files agree.
package unitfile

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Unit is the part of a service unit that decides its command line.
type Unit struct {
	// Defaults are the Environment= assignments, in order.
	Defaults []Var
	// EnvironmentFile is the settings file's path (without a leading "-").
	EnvironmentFile string
	// ExecStart is the command line as written, continuation lines joined.
	ExecStart string
}

// Var is one assignment.
type Var struct{ Name, Value string }

// Read parses a unit file.
func Read(path string) (*Unit, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	u := &Unit{}
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		key, value, ok := strings.Cut(line, "=")
		if !ok || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";") {
			continue
		}
		switch key {
		case "Environment":
			name, v, ok := strings.Cut(unquote(value), "=")
			if !ok {
				return nil, fmt.Errorf("%s: Environment=%s is not NAME=VALUE", path, value)
			}
			u.Defaults = append(u.Defaults, Var{name, v})
		case "EnvironmentFile":
			u.EnvironmentFile = strings.TrimPrefix(value, "-")
		case "ExecStart":
			u.ExecStart = strings.Join(strings.Fields(value), " ")
		}
	}
	if u.ExecStart == "" {
		return nil, fmt.Errorf("%s: no ExecStart", path)
	}
	return u, nil
}

// ReadEnvFile parses a settings file as systemd's EnvironmentFile= does:
// NAME=VALUE lines, comments starting with # or ;, values optionally
// quoted.
func ReadEnvFile(path string) ([]Var, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Var
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !nameRE.MatchString(name) {
			return nil, fmt.Errorf("%s:%d: not NAME=VALUE: %q", path, n, line)
		}
		out = append(out, Var{name, unquote(strings.TrimSpace(value))})
	}
	return out, sc.Err()
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}

// Environment is what the service's process sees: the defaults (whose
// specifiers systemd expands), then the settings file's assignments over
// them (taken as they are).
func (u *Unit) Environment(file []Var, specifiers map[string]string) map[string]string {
	env := map[string]string{}
	for _, v := range u.Defaults {
		for spec, s := range specifiers {
			v.Value = strings.ReplaceAll(v.Value, spec, s)
		}
		env[v.Name] = v.Value
	}
	for _, v := range file {
		env[v.Name] = v.Value
	}
	return env
}

// Command expands ExecStart as systemd does: "${NAME}" is replaced by the
// variable's value as exactly one argument (empty included), "$NAME" as a
// word of its own by the value split at white space (nothing when empty),
// and the specifiers given (e.g. "%H": the host name) as they are.
// A variable the environment lacks is an error: systemd would pass an
// empty value, which is never what the unit means.
func (u *Unit) Command(env map[string]string, specifiers map[string]string) ([]string, error) {
	var argv []string
	for _, word := range strings.Fields(u.ExecStart) {
		for spec, v := range specifiers {
			word = strings.ReplaceAll(word, spec, v)
		}
		if name, ok := strings.CutPrefix(word, "$"); ok && !strings.HasPrefix(name, "{") {
			v, ok := env[name]
			if !ok {
				return nil, fmt.Errorf("ExecStart uses $%s, which nothing sets", name)
			}
			argv = append(argv, strings.Fields(v)...)
			continue
		}
		var err error
		word = braceRE.ReplaceAllStringFunc(word, func(m string) string {
			name := m[2 : len(m)-1]
			v, ok := env[name]
			if !ok && err == nil {
				err = fmt.Errorf("ExecStart uses ${%s}, which nothing sets", name)
			}
			return v
		})
		if err != nil {
			return nil, err
		}
		if strings.Contains(word, "%") {
			return nil, fmt.Errorf("ExecStart word %q has a specifier this reader was not given", word)
		}
		argv = append(argv, word)
	}
	return argv, nil
}

var braceRE = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}`)

// Variables lists the variables ExecStart uses.
func (u *Unit) Variables() []string {
	var out []string
	seen := map[string]bool{}
	for _, word := range strings.Fields(u.ExecStart) {
		for _, m := range braceRE.FindAllString(word, -1) {
			if name := m[2 : len(m)-1]; !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
		if name, ok := strings.CutPrefix(word, "$"); ok && !strings.HasPrefix(name, "{") && !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}
