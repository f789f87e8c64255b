package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// statusError ends ovsnetctl with an exit code, printing status (when not
// empty) as it is: usage errors, and commands that already reported their
// failures one by one.
type statusError struct {
	status string
	code   int
}

func (e *statusError) Error() string {
	if e.status == "" {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.status
}

// flagErrorCode is Docker's exit code for a command line it cannot parse.
const flagErrorCode = 125

// flagError turns a flag parsing error into Docker's message and exit code.
func flagError(cmd *cobra.Command, err error) error {
	usage := ""
	if cmd.HasSubCommands() {
		usage = "\n\n" + strings.TrimRight(cmd.UsageString(), "\n")
	}
	return &statusError{
		status: fmt.Sprintf("%s\nSee '%s --help'.%s", err, cmd.CommandPath(), usage),
		code:   flagErrorCode,
	}
}

// argsError is Docker's message for a wrong number of arguments.
func argsError(cmd *cobra.Command, problem string) error {
	return &statusError{
		status: fmt.Sprintf("%q %s.\nSee '%s --help'.\n\nUsage:  %s\n\n%s",
			cmd.CommandPath(), problem, cmd.CommandPath(), cmd.UseLine(), cmd.Short),
		code: 1,
	}
}

func pluralize(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// exactArgs accepts exactly n positional arguments.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return argsError(cmd, fmt.Sprintf("requires exactly %d %s", n, pluralize("argument", n)))
	}
}

// minArgs accepts n or more positional arguments.
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return argsError(cmd, fmt.Sprintf("requires at least %d %s", n, pluralize("argument", n)))
	}
}

// noArgs accepts no positional arguments.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	return argsError(cmd, "accepts no arguments")
}

// unknownSubcommand is the Args check of commands that only group others:
// any argument left over is a subcommand that does not exist.
func unknownSubcommand(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s: '%s' is not a %s command.", cmd.CommandPath(), args[0], cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, set only on its own error path
	}
	if suggestions := cmd.SuggestionsFor(args[0]); len(suggestions) > 0 {
		msg += "\nDid you mean " + strings.Join(suggestions, " or ") + "?"
	}
	msg += fmt.Sprintf("\nSee '%s --help'.", cmd.CommandPath())
	return &statusError{status: msg, code: 1}
}

// showHelp is the action of commands that only group others.
func showHelp(cmd *cobra.Command, _ []string) error {
	return cmd.Help()
}

// groupAwareUsage adjusts cobra's usage template so that commands which only
// group others (runnable just to reject unknown subcommands) show
// "ovsnetctl network [command]" alone, not also a bare "ovsnetctl network".
func groupAwareUsage(template string) string {
	return strings.Replace(template, "Usage:{{if .Runnable}}",
		"Usage:{{if and .Runnable (not .HasAvailableSubCommands)}}", 1)
}
