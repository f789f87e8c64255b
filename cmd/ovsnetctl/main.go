// Command ovsnetctl is ovsnet's command-line client. It talks to the
// controller's REST API and mirrors `docker network` where the two overlap
// (flags, output columns, error messages), adding ovsnet's own views of hosts
// and endpoints.
//
//	ovsnetctl network create -d overlay --subnet 10.10.0.0/24 web
//	ovsnetctl network connect --host h1 --netns /run/netns/c1 web c1
//	ovsnetctl host ls
//	ovsnetctl endpoint ls --network web
//
// The controller's address comes from --controller or OVSNET_CONTROLLER, and
// an optional bearer token from --token or OVSNET_TOKEN.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

// run executes one ovsnetctl command line (without the program name) and
// returns the process exit code. Everything it prints goes to stdout and
// stderr, and it reads the environment only through env, so tests run it
// in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	a := &app{stdout: stdout, stderr: stderr, env: env, now: time.Now}
	return a.execute(ctx, args)
}
