package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/ovsnet/ovsnet/model"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version string

// buildVersion is ovsnetctl's version: the linker-set one, else the module
// version Go recorded, else "dev".
func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// newVersionCommand is `version`: ovsnetctl's own version, then the
// controller's, like `docker version` (which fails when the server cannot
// be asked, after printing the client part).
func (a *app) newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:                   "version",
		Short:                 "Show the ovsnetctl and controller versions",
		Example:               "  ovsnetctl version",
		DisableFlagsInUseLine: true,
		Args:                  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(a.stdout, "Client:\n Version:      %s\n API version:  %s\n Go version:   %s\n OS/Arch:      %s/%s\n",
				buildVersion(), model.DockerAPIVersion, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			c, err := a.client()
			if err != nil {
				return err
			}
			v, err := c.Version(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "\nServer: %s\n Version:      %s\n API version:  %s\n Go version:   %s\n OS/Arch:      %s/%s\n",
				c.BaseURL(), v.Version, v.APIVersion, v.GoVersion, v.Os, v.Arch)
			if v.GitCommit != "" {
				fmt.Fprintf(a.stdout, " Git commit:   %s\n", v.GitCommit)
			}
			return nil
		},
	}
}
