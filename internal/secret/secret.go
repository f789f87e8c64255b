// Package secret reads the bearer token of ovsnet's REST API the ways it
// may be given: a file, or the environment. Never a command-line flag,
// which every user of the machine sees in ps.
package secret

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// EnvToken is the environment variable holding the token itself.
const EnvToken = "OVSNET_TOKEN"

// EnvReadToken is the environment variable holding the controller's
// read-only token itself.
const EnvReadToken = "OVSNET_READ_TOKEN"

// maxTokenFile bounds what is read from a token file.
const maxTokenFile = 4096

// Token returns the token in file when file is given, else the value of
// the environment variable env ("" when neither says anything). The
// variable is removed from the environment once read, so programs this
// one starts do not inherit it. A file that others may read is refused
// (chmod 0600, or 0640 for a group of services).
func Token(file, env string) (string, error) {
	fromEnv := ""
	if env != "" {
		fromEnv = os.Getenv(env)
		_ = os.Unsetenv(env)
	}
	if file == "" {
		return strings.TrimSpace(fromEnv), nil
	}
	return ReadFile(file)
}

// ReadFile reads a token file: one line, not readable by others.
func ReadFile(file string) (string, error) {
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("token file %s is not a regular file", file)
	}
	if st.Mode().Perm()&0o007 != 0 {
		return "", fmt.Errorf("token file %s may be read by any user (mode %#o): chmod 0600 it", file, st.Mode().Perm())
	}
	if st.Size() > maxTokenFile {
		return "", fmt.Errorf("token file %s is larger than %d bytes: not a token", file, maxTokenFile)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile))
	if err != nil {
		return "", fmt.Errorf("token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", file)
	}
	if strings.ContainsAny(tok, "\r\n") {
		return "", fmt.Errorf("token file %s holds more than one line", file)
	}
	return tok, nil
}
