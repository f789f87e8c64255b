package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/ovsnet/ovsnet/client"
)

// Environment variables and defaults for the global flags.
const (
	envController     = "OVSNET_CONTROLLER"
	envToken          = "OVSNET_TOKEN"
	defaultController = "http://127.0.0.1:8080"
)

// app is one invocation of ovsnetctl: where output goes, what the
// environment says, and the global flags' values.
type app struct {
	stdout, stderr io.Writer
	// stdin is what prompts and `restore` read (nil: the process's).
	stdin io.Reader
	env   func(string) string
	// now is the clock for "3s ago" columns.
	now func() time.Time

	// controller and token are the global flags; empty means "from the
	// environment, else the default".
	controller string
	token      string
	// security are the token file and TLS flags (tls.go).
	security securityFlags

	// helpErr is set when help was asked of a subcommand that does not
	// exist (`ovsnetctl network frob --help`): cobra's help path cannot
	// fail by itself.
	helpErr error
}

// execute builds the command tree, runs args through it and reports the
// outcome as an exit code, printing any error to stderr.
func (a *app) execute(ctx context.Context, args []string) int {
	root := a.newRootCommand()
	root.SetArgs(args)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	if a.stdin != nil {
		root.SetIn(a.stdin)
	}
	err := root.ExecuteContext(ctx)
	if err == nil {
		err = a.helpErr
	}
	return a.report(err)
}

func (a *app) newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "ovsnetctl",
		Short: "Manage ovsnet networks, endpoints and hosts",
		Long: "ovsnetctl manages ovsnet, an Open vSwitch based multi-host container network.\n" +
			"It talks to the ovsnet controller (--controller, or " + envController + ").",
		Example: `  export OVSNET_CONTROLLER=http://controller.example:8080
  ovsnetctl network create -d overlay testnet02
  ovsnetctl network connect --host h1 --netns /run/netns/web testnet02 web
  ovsnetctl host ls
  ovsnetctl endpoint ls --network testnet02`,
		SilenceErrors:         true,
		SilenceUsage:          true,
		DisableFlagsInUseLine: true,
		Args:                  unknownSubcommand,
		RunE:                  showHelp,
	}
	root.SetFlagErrorFunc(flagError)
	root.SetUsageTemplate(groupAwareUsage(root.UsageTemplate()))
	// Help for a subcommand that does not exist is an error, with or
	// without --help: a script must not take the group's help for success.
	defaultHelp := root.HelpFunc()
	root.SetHelpFunc(func(cmd *cobra.Command, args []string) {
		if rest := cmd.Flags().Args(); cmd.HasAvailableSubCommands() && len(rest) > 0 {
			a.helpErr = unknownSubcommand(cmd, rest)
			return
		}
		defaultHelp(cmd, args)
	})
	root.SetHelpCommand(&cobra.Command{
		Use:   "help [COMMAND]",
		Short: "Help about any command",
		Example: `  ovsnetctl help network connect
  ovsnetctl network connect --help`,
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := cmd.Root().Find(args)
			if err != nil {
				return unknownSubcommand(cmd.Root(), args)
			}
			if len(rest) > 0 {
				return unknownSubcommand(target, rest)
			}
			return target.Help()
		},
	})
	flags := root.PersistentFlags()
	flags.StringVar(&a.controller, "controller", "",
		fmt.Sprintf("controller address (env %s, default %s)", envController, defaultController))
	flags.StringVar(&a.token, "token", "", "bearer token for the controller (env "+envToken+")")
	a.addSecurityFlags(flags)

	root.AddCommand(
		a.newNetworkCommand(),
		a.newHostCommand(),
		a.newEndpointCommand(),
		a.newTraceCommand(),
		a.newBackupCommand(),
		a.newRestoreCommand(),
		a.newVersionCommand(),
		a.newCertsCommand(),
	)
	return root
}

// controllerAddress is --controller, else OVSNET_CONTROLLER, else the default.
func (a *app) controllerAddress() string {
	if a.controller != "" {
		return a.controller
	}
	if v := a.env(envController); v != "" {
		return v
	}
	return defaultController
}

// client returns an API client configured from the global flags.
func (a *app) client() (*client.Client, error) {
	opts, err := a.authOptions() // tls.go
	if err != nil {
		return nil, err
	}
	return client.New(a.controllerAddress(), append(opts, client.WithUserAgent("ovsnetctl/"+buildVersion()))...)
}

// report prints err the way Docker's CLI does and returns the exit code:
// API errors as "Error response from daemon: <message>", other failures as
// "Error: <message>", usage errors as they are.
func (a *app) report(err error) int {
	if err == nil {
		return 0
	}
	var st *statusError
	if errors.As(err, &st) {
		if st.status != "" {
			fmt.Fprintln(a.stderr, st.status)
		}
		return st.code
	}
	fmt.Fprintln(a.stderr, describeError(err))
	return 1
}

// describeError renders one failure for the user.
func describeError(err error) string {
	var apiErr *client.APIError
	if errors.As(err, &apiErr) {
		return "Error response from daemon: " + err.Error()
	}
	return "Error: " + err.Error()
}
