package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ovsnet/ovsnet/internal/docsection"
)

//go:generate env OVSNET_UPDATE_DOCS=1 go test -run TestCLIReference .

// docs/cli.md's ovsnetctl part is rendered from the command tree itself:
// a command, flag or example changed here and not there fails this test.
func TestCLIReference(t *testing.T) {
	a := &app{env: func(string) string { return "" }}
	root := a.newRootCommand()
	root.InitDefaultHelpCmd()
	var b strings.Builder
	b.WriteString("Global flags, accepted by every command:\n\n")
	writeFlagTable(&b, root.PersistentFlags())
	b.WriteString("Commands:\n\n")
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() && c.Name() != "completion" {
			fmt.Fprintf(&b, "- [`%s`](#%s): %s\n", c.CommandPath(), anchor(c.CommandPath()), c.Short)
		}
	}
	b.WriteString("\n")
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "completion" {
			return
		}
		writeCommand(&b, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	for _, c := range root.Commands() {
		walk(c)
	}
	docsection.Check(t, docsection.RepoFile("docs/cli.md"), "ovsnetctl", b.String(), "go generate ./cmd/ovsnetctl")
}

func writeCommand(b *strings.Builder, c *cobra.Command) {
	fmt.Fprintf(b, "### %s\n\n%s.\n\n", c.CommandPath(), strings.TrimSuffix(c.Short, "."))
	if c.Long != "" && c.Long != c.Short {
		fmt.Fprintf(b, "%s\n\n", strings.TrimSpace(c.Long))
	}
	use := c.UseLine()
	if c.HasAvailableSubCommands() {
		use = c.CommandPath() + " COMMAND"
	}
	fmt.Fprintf(b, "```\n%s\n```\n\n", use)
	if len(c.Aliases) > 0 {
		fmt.Fprintf(b, "Aliases: `%s`.\n\n", strings.Join(c.Aliases, "`, `"))
	}
	if c.HasAvailableSubCommands() {
		var subs []string
		for _, s := range c.Commands() {
			if s.IsAvailableCommand() {
				subs = append(subs, fmt.Sprintf("[`%s`](#%s)", s.Name(), anchor(s.CommandPath())))
			}
		}
		fmt.Fprintf(b, "Commands: %s.\n\n", strings.Join(subs, ", "))
	}
	if c.Example != "" {
		fmt.Fprintf(b, "Examples:\n\n```sh\n%s\n```\n\n", dedent(c.Example))
	}
	if c.HasAvailableLocalFlags() {
		writeFlagTable(b, c.LocalNonPersistentFlags())
	}
}

// writeFlagTable renders flags as a Markdown table.
func writeFlagTable(b *strings.Builder, fs *pflag.FlagSet) {
	b.WriteString("| flag | default | |\n|---|---|---|\n")
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden || f.Name == "help" {
			return
		}
		name := "--" + f.Name
		if f.Shorthand != "" {
			name = "-" + f.Shorthand + ", " + name
		}
		typ, usage := pflag.UnquoteUsage(f)
		if typ != "" {
			name += " " + typ
		}
		def := f.DefValue
		if def == "[]" || def == "false" || def == "0" {
			def = ""
		}
		if def != "" {
			def = "`" + def + "`"
		}
		usage = strings.ReplaceAll(usage, "|", `\|`)
		fmt.Fprintf(b, "| `%s` | %s | %s |\n", name, def, usage)
	})
	b.WriteString("\n")
}

// anchor is GitHub's anchor of a heading.
func anchor(heading string) string {
	return strings.ReplaceAll(strings.ToLower(heading), " ", "-")
}

// dedent removes the two spaces cobra examples are indented by.
func dedent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(l, "  ")
	}
	return strings.Join(lines, "\n")
}

// Every example of every command parses: its flags exist and take the
// values given, and it has the arguments the command wants. (What the
// controller then says of them is the end-to-end tests' business.)
func TestExamplesParse(t *testing.T) {
	a := &app{env: func(string) string { return "" }}
	root := a.newRootCommand()
	root.InitDefaultHelpCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, line := range strings.Split(c.Example, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "ovsnetctl ") {
				continue
			}
			t.Run(line, func(t *testing.T) { checkExample(t, a, line) })
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

func checkExample(t *testing.T, a *app, line string) {
	words, err := shellWords(line)
	if err != nil {
		t.Fatal(err)
	}
	root := a.newRootCommand() // fresh flag values for each example
	root.InitDefaultHelpCmd()
	cmd, rest, err := root.Find(words[1:])
	if err != nil {
		t.Fatalf("no such command: %v", err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return
		}
		t.Fatalf("flags: %v", err)
	}
	if cmd.Args != nil {
		if err := cmd.Args(cmd, cmd.Flags().Args()); err != nil {
			t.Fatalf("arguments: %v", err)
		}
	}
}

// shellWords splits a command line as sh would for these examples: single
// and double quotes, a comment from " #", and nothing after a redirection
// or a pipe.
func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '\'' || ch == '"':
			end := strings.IndexByte(line[i+1:], ch)
			if end < 0 {
				return nil, fmt.Errorf("unclosed quote in %q", line)
			}
			cur.WriteString(line[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case !inWord && (ch == '#' || ch == '>' || ch == '<' || ch == '|'):
			return words, nil
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
