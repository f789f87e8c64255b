package cluster

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/test/lab"
)

// Security settings of a cluster (Options.Token, Options.ConsulACL): the
// API token in a file every daemon and client reads it from, and Consul
// with ACLs (default deny), each daemon with a token of its own made from
// deploy/consul/acl/ by deploy/consul/acl.sh.
type security struct {
	// tokenFile holds the API token (Options.Token).
	tokenFile string
	token     string
	// acl is set with Options.ConsulACL.
	acl *ConsulACL
}

// ConsulACL is what a cluster with Options.ConsulACL set up in Consul.
type ConsulACL struct {
	// Management is the lab's management token (acl.tokens.initial_management).
	Management string
	// Node is the Consul node the daemons talk to.
	Node string
	// ControllerTokenFile and AgentTokenFiles (by host) hold the daemons'
	// tokens (CONSUL_HTTP_TOKEN_FILE).
	ControllerTokenFile string
	AgentTokenFiles     map[string]string
}

// ACL is the cluster's Consul ACL setup (nil without Options.ConsulACL).
func (c *Cluster) ACL() *ConsulACL { return c.sec.acl }

// TokenFile is the file holding the API token ("" without Options.Token).
func (c *Cluster) TokenFile() string { return c.sec.tokenFile }

// consulConfig is the extra Consul configuration the options ask for (nil:
// none).
func (c *Cluster) consulConfig(opts Options) map[string]any {
	if !opts.ConsulACL {
		return nil
	}
	mgmt := newUUID(c.T)
	c.sec.acl = &ConsulACL{Management: mgmt, AgentTokenFiles: map[string]string{}}
	return map[string]any{"acl": map[string]any{
		"enabled": true, "default_policy": "deny", "enable_token_persistence": true,
		// The server's own operations, and (until setupSecurity replaces
		// it) requests without a token, such as the lab's leader check.
		"tokens": map[string]any{"initial_management": mgmt, "agent": mgmt, "default": mgmt},
	}}
}

// setupSecurity writes the API token file and, with ACLs, makes the
// daemons' Consul tokens; it runs once Consul is up, before any daemon.
func (c *Cluster) setupSecurity(opts Options) {
	c.T.Helper()
	if opts.Token != "" {
		c.sec.token = opts.Token
		c.sec.tokenFile = filepath.Join(c.Lab.Dir, "api.token")
		if err := os.WriteFile(c.sec.tokenFile, []byte(opts.Token+"\n"), 0o600); err != nil {
			c.T.Fatalf("cluster: %v", err)
		}
	}
	acl := c.sec.acl
	if acl == nil {
		return
	}
	cfg := api.DefaultConfig()
	cfg.Address, cfg.Token = c.Consul.Addr, acl.Management
	cl, err := api.NewClient(cfg)
	if err != nil {
		c.T.Fatalf("cluster: %v", err)
	}
	if acl.Node, err = cl.Agent().NodeName(); err != nil {
		c.T.Fatalf("cluster: consul node name: %v", err)
	}
	acl.ControllerTokenFile = filepath.Join(c.Lab.Dir, "consul-controller.token")
	c.aclScript("controller", acl.Node, acl.ControllerTokenFile)
	for _, h := range c.Lab.Hosts {
		f := filepath.Join(c.Lab.Dir, "consul-agent-"+h.Name+".token")
		c.aclScript("agent", h.Name, acl.Node, f)
		acl.AgentTokenFiles[h.Name] = f
	}
	// From now on a request without a token may only see the nodes (what
	// the lab's leader check reads): the default policy denies the rest.
	pol, _, err := cl.ACL().PolicyCreate(&api.ACLPolicy{Name: "anonymous-nodes", Rules: `node_prefix "" { policy = "read" }`}, nil)
	if err != nil {
		c.T.Fatalf("cluster: %v", err)
	}
	tok, _, err := cl.ACL().TokenCreate(&api.ACLToken{Description: "lab default", Policies: []*api.ACLTokenPolicyLink{{ID: pol.ID}}}, nil)
	if err != nil {
		c.T.Fatalf("cluster: %v", err)
	}
	if _, err := cl.Agent().UpdateDefaultACLToken(tok.SecretID, nil); err != nil {
		c.T.Fatalf("cluster: %v", err)
	}
}

// aclScript runs deploy/consul/acl.sh with the lab's Consul.
func (c *Cluster) aclScript(args ...string) {
	c.T.Helper()
	bin, err := lab.ConsulBinary()
	if err != nil {
		c.T.Fatalf("cluster: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(repoDir(), "deploy", "consul", "acl.sh"), args...)
	cmd.Env = append(os.Environ(), "CONSUL="+bin, "CONSUL_HTTP_ADDR="+c.Consul.Addr, "CONSUL_HTTP_TOKEN="+c.sec.acl.Management,
		"OVSNET_PREFIX="+c.Prefix)
	if out, err := cmd.CombinedOutput(); err != nil {
		c.T.Fatalf("cluster: deploy/consul/acl.sh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// controllerEnv is the environment of a controller.
func (c *Cluster) controllerEnv() []string {
	if c.sec.acl == nil {
		return nil
	}
	return []string{"CONSUL_HTTP_TOKEN_FILE=" + c.sec.acl.ControllerTokenFile}
}

// controllerArgs are the security flags of a controller.
func (c *Cluster) securityArgs() []string {
	if c.sec.tokenFile == "" {
		return nil
	}
	return []string{"-token-file", c.sec.tokenFile}
}

// agentEnv is the environment of h's agent.
func (c *Cluster) agentEnv(h *lab.Host) []string {
	env := h.Env()
	if c.sec.acl != nil {
		env = append(env, "CONSUL_HTTP_TOKEN_FILE="+c.sec.acl.AgentTokenFiles[h.Name])
	}
	return env
}

// agentSecurityArgs are the flags an agent's Docker plugin needs to talk
// to the controllers.
func (c *Cluster) agentSecurityArgs() []string {
	if c.sec.tokenFile == "" {
		return nil
	}
	return []string{"-token-file", c.sec.tokenFile}
}

// clientOptions are the API client's options.
func (c *Cluster) clientOptions() []client.Option {
	if c.sec.token == "" {
		return nil
	}
	return []client.Option{client.WithToken(c.sec.token)}
}

// ctlEnv is the environment of ovsnetctl.
func (c *Cluster) ctlEnv() []string {
	if c.sec.tokenFile == "" {
		return nil
	}
	return []string{"OVSNET_TOKEN_FILE=" + c.sec.tokenFile}
}

func newUUID(t fataler) string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("cluster: %v", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// fataler is what newUUID needs of a test.
type fataler interface{ Fatalf(string, ...any) }

// repoDir is the repository's root (this file is test/cluster/security.go).
func repoDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
