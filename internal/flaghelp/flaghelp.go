// Package flaghelp gives the daemons (ovsnet-controller, ovsnet-agent) a
// -h that an operator can read: the flags grouped by area, each group a
// table entry, required flags and environment fallbacks marked, and a
// -version flag. Flags that no group lists still show, under "Other
// flags", and Check reports them so a test can insist every flag has a
// place.
package flaghelp

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
)

// Group is one area of a command line: a title and its flags, in the
// order they are shown.
type Group struct {
	Title string
	// Note, if set, is printed under the title.
	Note  string
	Flags []string
}

// Help describes a daemon's command line.
type Help struct {
	// Name is the program's name; Purpose says in one line what it does.
	Name, Purpose string
	// Usage is the synopsis after "Usage:", e.g. "ovsnet-agent -tunnel-ip ADDR [flags]".
	Usage string
	// Groups are the areas, in order.
	Groups []Group
	// Required flags must be given (or their environment variable set).
	Required []string
	// Env maps a flag to the environment variable it falls back to.
	Env map[string]string
	// Environment lists variables that are read without being a flag's
	// fallback (e.g. by the Consul client), as "NAME: what".
	Environment []string
	// Footer is printed last (where to read more).
	Footer string
}

// Setup installs h as fs's usage text, adds -version, and applies the
// environment fallbacks of h.Env (so a flag given on the command line
// still wins). Call it after defining the flags and before fs.Parse.
func (h *Help) Setup(fs *flag.FlagSet) *bool {
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() { h.Print(fs.Output(), fs) }
	for name, env := range h.Env {
		if v, ok := os.LookupEnv(env); ok && v != "" && fs.Lookup(name) != nil {
			// DefValue stays the built-in default for the help text.
			if err := fs.Set(name, v); err != nil {
				fmt.Fprintf(fs.Output(), "%s: $%s: %v\n", h.Name, env, err)
				os.Exit(2)
			}
		}
	}
	return showVersion
}

// Parse parses args into fs, prints the version and exits when -version is
// given, and checks the required flags: a missing one ends the program
// with a message naming it and its environment variable, exit code 2.
func (h *Help) Parse(fs *flag.FlagSet, args []string, version string) {
	showVersion := h.Setup(fs)
	_ = fs.Parse(args) // ExitOnError: -h exits 0, a bad flag exits 2
	if *showVersion {
		fmt.Fprintln(os.Stdout, VersionLine(h.Name, version))
		os.Exit(0)
	}
	if missing := h.Missing(fs); len(missing) > 0 {
		fmt.Fprintf(fs.Output(), "%s: missing %s (see %s -h)\n", h.Name, strings.Join(missing, ", "), h.Name)
		os.Exit(2)
	}
}

// VersionLine is what -version prints.
func VersionLine(name, version string) string {
	return fmt.Sprintf("%s %s (%s %s/%s)", name, version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// Missing lists the required flags that have no value, each as "-flag"
// (or "-flag / $ENV" when it has an environment fallback).
func (h *Help) Missing(fs *flag.FlagSet) []string {
	var out []string
	for _, name := range h.Required {
		f := fs.Lookup(name)
		if f == nil || f.Value.String() != "" {
			continue
		}
		m := "-" + name
		if env := h.Env[name]; env != "" {
			m += " (or $" + env + ")"
		}
		out = append(out, m)
	}
	return out
}

// Check reports flags no group lists, and names in the groups, Required or
// Env that are not flags of fs: what a test of each daemon asserts is
// empty, so a new flag gets a place in the help.
func (h *Help) Check(fs *flag.FlagSet) []string {
	var problems []string
	listed := map[string]string{}
	for _, g := range h.Groups {
		for _, name := range g.Flags {
			if prev, dup := listed[name]; dup {
				problems = append(problems, fmt.Sprintf("-%s is listed in %q and %q", name, prev, g.Title))
			}
			listed[name] = g.Title
			if fs.Lookup(name) == nil {
				problems = append(problems, fmt.Sprintf("group %q lists -%s, which is not a flag", g.Title, name))
			}
		}
	}
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := listed[f.Name]; !ok && f.Name != "version" {
			problems = append(problems, fmt.Sprintf("-%s is in no group of the help table", f.Name))
		}
	})
	for _, name := range h.Required {
		if fs.Lookup(name) == nil {
			problems = append(problems, fmt.Sprintf("required -%s is not a flag", name))
		}
	}
	for name := range h.Env {
		if fs.Lookup(name) == nil {
			problems = append(problems, fmt.Sprintf("environment fallback of -%s, which is not a flag", name))
		}
	}
	sort.Strings(problems)
	return problems
}

// Print writes the help: purpose, usage, then each group's flags.
func (h *Help) Print(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s: %s\n\nUsage:\n  %s\n", h.Name, h.Purpose, h.Usage)
	required := map[string]bool{}
	for _, name := range h.Required {
		required[name] = true
	}
	shown := map[string]bool{}
	groups := append([]Group(nil), h.Groups...)
	var other []string
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == "version" {
			return
		}
		for _, g := range h.Groups {
			for _, name := range g.Flags {
				if name == f.Name {
					return
				}
			}
		}
		other = append(other, f.Name)
	})
	if len(other) > 0 {
		groups = append(groups, Group{Title: "Other flags", Flags: other})
	}
	groups = append(groups, Group{Title: "Information", Flags: []string{"h", "version"}})
	for _, g := range groups {
		fmt.Fprintf(w, "\n%s:\n", g.Title)
		if g.Note != "" {
			fmt.Fprintf(w, "  %s\n", strings.ReplaceAll(g.Note, "\n", "\n  "))
		}
		for _, name := range g.Flags {
			if name == "h" {
				fmt.Fprintf(w, "  -h, -help\n        print this help and exit\n")
				continue
			}
			f := fs.Lookup(name)
			if f == nil || shown[name] {
				continue
			}
			shown[name] = true
			printFlag(w, f, required[name], h.Env[name])
		}
	}
	if len(h.Environment) > 0 {
		fmt.Fprintf(w, "\nEnvironment:\n")
		for _, e := range h.Environment {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	if h.Footer != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimRight(h.Footer, "\n"))
	}
}

// printFlag writes one flag as the flag package does (name, type, usage,
// default), with its marks.
func printFlag(w io.Writer, f *flag.Flag, required bool, env string) {
	typ, usage := flag.UnquoteUsage(f)
	line := "  -" + f.Name
	if typ != "" {
		line += " " + typ
	}
	var marks []string
	if required {
		marks = append(marks, "required")
	}
	if env != "" {
		marks = append(marks, "env $"+env)
	}
	if len(marks) > 0 {
		line += "   [" + strings.Join(marks, ", ") + "]"
	}
	fmt.Fprintln(w, line)
	text := "        " + strings.ReplaceAll(usage, "\n", "\n        ")
	if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" && f.DefValue != "0s" {
		text += fmt.Sprintf(" (default %s)", quoteIfString(f))
	}
	fmt.Fprintln(w, text)
}

// quoteIfString quotes a string flag's default, as the flag package does.
func quoteIfString(f *flag.Flag) string {
	if fmt.Sprintf("%T", f.Value) == "*flag.stringValue" {
		return fmt.Sprintf("%q", f.DefValue)
	}
	return f.DefValue
}
