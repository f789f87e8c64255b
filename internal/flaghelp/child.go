package flaghelp

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"testing"
)

// childEnv marks a test binary started to run its program's main.
const childEnv = "OVSNET_FLAGHELP_MAIN"

// RunMainIfChild is for a daemon's TestMain: in a test binary started by
// RunMain it runs the program's main with the arguments given (on a fresh
// flag set, without the testing flags) and exits; otherwise it returns.
func RunMainIfChild(name string, main func()) {
	if os.Getenv(childEnv) == "" {
		return
	}
	flag.CommandLine = flag.NewFlagSet(name, flag.ExitOnError)
	os.Args = append([]string{name}, os.Args[1:]...)
	main()
	os.Exit(0)
}

// RunMain runs the program's main in a child test binary with args and
// returns its exit code, stdout and stderr. The environment is the test's
// without CONSUL_HTTP_ADDR and OVSNET_TOKEN, so defaults show as built.
func RunMain(t testing.TB, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	for _, kv := range os.Environ() {
		if !bytes.HasPrefix([]byte(kv), []byte("CONSUL_HTTP_ADDR=")) && !bytes.HasPrefix([]byte(kv), []byte("OVSNET_TOKEN=")) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running main: %v", err)
		}
		code = ee.ExitCode()
	}
	return code, stdout.String(), stderr.String()
}
