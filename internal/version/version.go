// Package version holds ovsnet's version, set at build time with
// -ldflags "-X github.com/ovsnet/ovsnet/internal/version.Version=v1.2.3".
package version

// Version of ovsnet.
var Version = "dev"
