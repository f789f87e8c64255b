package unitfile

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

func repo(rel string) string {
	_, self, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(self), "..", "..", rel)
}

// The shipped units and their settings files agree: every variable the
// command line uses has a default in the unit, the settings file sets
// only variables the unit uses, and every flag of the command line is one
// the daemon has (as its -h in docs/cli.md shows).
func TestShippedUnitsAndSettingsAgree(t *testing.T) {
	cli, err := os.ReadFile(repo("docs/cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"ovsnet-controller", "ovsnet-agent"} {
		t.Run(name, func(t *testing.T) {
			u, err := Read(repo("deploy/systemd/" + name + ".service"))
			if err != nil {
				t.Fatal(err)
			}
			if u.EnvironmentFile != "/etc/default/"+name {
				t.Errorf("EnvironmentFile=%s, want /etc/default/%s", u.EnvironmentFile, name)
			}
			file, err := ReadEnvFile(repo("deploy/systemd/" + name + ".env"))
			if err != nil {
				t.Fatal(err)
			}
			defaults := map[string]bool{}
			for _, v := range u.Defaults {
				defaults[v.Name] = true
			}
			used := map[string]bool{}
			for _, v := range u.Variables() {
				used[v] = true
				if !defaults[v] && !(name == "ovsnet-agent" && v == "OVSNET_TUNNEL_IP") {
					t.Errorf("ExecStart uses %s, which has no Environment= default", v)
				}
			}
			// Variables the Consul client library reads are the only others.
			for _, v := range file {
				if !used[v.Name] && !strings.HasPrefix(v.Name, "CONSUL_") {
					t.Errorf("%s.env sets %s, which the unit does not use", name, v.Name)
				}
			}
			spec := map[string]string{"%H": "node1"}
			argv, err := u.Command(u.Environment(file, spec), spec)
			if err != nil {
				t.Fatal(err)
			}
			if argv[0] != "/usr/local/bin/"+name {
				t.Errorf("runs %s", argv[0])
			}
			section := string(cli)[strings.Index(string(cli), "$ "+name+" -h"):]
			for _, a := range argv[1:] {
				flag, _, _ := strings.Cut(a, "=")
				if !strings.HasPrefix(flag, "-") {
					continue
				}
				if !regexp.MustCompile(`\n  ` + regexp.QuoteMeta(flag) + `[ \n]`).MatchString(section) {
					t.Errorf("ExecStart passes %s, which %s -h does not list", flag, name)
				}
				if strings.Contains(flag, "token") && !strings.HasSuffix(flag, "token-file") {
					t.Errorf("ExecStart passes %s: a token never goes on a command line", flag)
				}
			}
		})
	}
}

func TestCommandExpansion(t *testing.T) {
	dir := t.TempDir()
	unit := filepath.Join(dir, "x.service")
	os.WriteFile(unit, []byte(`[Service]
Environment=A=1
Environment="B=two words"
Environment=E=
EnvironmentFile=-/etc/default/x
ExecStart=/bin/x \
    -a ${A} -b ${B} -e ${E} \
    -n %H $OPTS $NONE
`), 0o644)
	u, err := Read(unit)
	if err != nil {
		t.Fatal(err)
	}
	env := u.Environment([]Var{{"OPTS", "-x  -y"}, {"NONE", ""}}, nil)
	argv, err := u.Command(env, map[string]string{"%H": "h1"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/bin/x", "-a", "1", "-b", "two words", "-e", "", "-n", "h1", "-x", "-y"}
	if !reflect.DeepEqual(argv, want) {
		t.Fatalf("argv %q, want %q", argv, want)
	}
	if u.EnvironmentFile != "/etc/default/x" {
		t.Errorf("EnvironmentFile %q", u.EnvironmentFile)
	}
	if _, err := u.Command(map[string]string{}, map[string]string{"%H": "h1"}); err == nil {
		t.Error("unset variables: want an error")
	}
}
