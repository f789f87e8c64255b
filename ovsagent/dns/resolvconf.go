package dns

import (
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/ovsnet/ovsnet/model"
)

// Zero configuration for containers that are plain network namespaces
// (docs/dns.md): `ip netns exec NAME cmd` bind-mounts the files of
// /etc/netns/NAME over /etc, so writing /etc/netns/NAME/resolv.conf points
// every program run that way at the resolver: the gateway address of the
// container's first network (the one its default route uses, or its first
// internal one), answered in OVS. The agent writes a file only where none
// exists or where it wrote one before, marks it, lists it in its state
// directory, and removes it when the container's last endpoint on this host
// goes — only files on that list, and only while they carry the mark.

const resolvConfMark = "# Written by ovsnet-agent"

type resolvConfs struct {
	dir    string // /etc/netns
	ledger string // <state dir>/dns-resolvconf.json
	host   string
	log    *slog.Logger

	mu      sync.Mutex
	written map[string]writtenConf // by namespace name
	warned  map[string]bool
}

type writtenConf struct {
	Content string `json:"content"`
	// CreatedDir: the agent created /etc/netns/NAME and removes it (when
	// empty) with the file.
	CreatedDir bool `json:"createdDir,omitempty"`
}

func newResolvConfs(dir, stateDir, host string, log *slog.Logger) *resolvConfs {
	r := &resolvConfs{dir: dir, host: host, log: log, written: map[string]writtenConf{}, warned: map[string]bool{}}
	if stateDir != "" {
		r.ledger = filepath.Join(stateDir, "dns-resolvconf.json")
		if b, err := os.ReadFile(r.ledger); err == nil {
			if err := json.Unmarshal(b, &r.written); err != nil {
				log.Warn("ignoring unreadable list of resolv.conf files", "path", r.ledger, "err", err)
				r.written = map[string]writtenConf{}
			}
		}
	}
	return r
}

// netnsName is NAME for /run/netns/NAME (or /var/run/netns/NAME), the
// namespaces `ip netns exec` knows; "" for any other path.
func netnsName(path string) string {
	for _, dir := range []string{"/run/netns/", "/var/run/netns/"} {
		if name, ok := strings.CutPrefix(path, dir); ok && name != "" && name != "." && name != ".." && !strings.Contains(name, "/") {
			return name
		}
	}
	return ""
}

// resolvConfFor is the file a container gets, given its endpoints here.
func (r *resolvConfs) resolvConfFor(eps []*model.Endpoint, nets map[string]*model.Network) string {
	sort.Slice(eps, func(i, j int) bool {
		a, b := nets[eps[i].NetworkID], nets[eps[j].NetworkID]
		if a.Internal != b.Internal {
			return !a.Internal
		}
		if !eps[i].Created.Equal(eps[j].Created) {
			return eps[i].Created.Before(eps[j].Created)
		}
		return eps[i].IfName < eps[j].IfName
	})
	n := nets[eps[0].NetworkID]
	var b strings.Builder
	b.WriteString(resolvConfMark + " (host " + r.host + "): the resolver of this container's networks.\n")
	b.WriteString("# Removed when the container leaves its last network. Delete these lines to keep your own edits.\n")
	b.WriteString("nameserver " + n.Gateway.String() + "\n")
	if n.EnableIPv6 && n.Gateway6.IsValid() && eps[0].IPv6.IsValid() {
		b.WriteString("nameserver " + n.Gateway6.String() + "\n")
	}
	b.WriteString("options ndots:0\n")
	return b.String()
}

// sync makes the files match st's local netns containers.
func (r *resolvConfs) sync(st *model.HostState) {
	nets := map[string]*model.Network{}
	for i := range st.Networks {
		nets[st.Networks[i].ID] = &st.Networks[i]
	}
	byNS := map[string][]*model.Endpoint{}
	for i := range st.Endpoints {
		ep := &st.Endpoints[i]
		if ep.Host != st.Host || ep.Docker || nets[ep.NetworkID] == nil || !nets[ep.NetworkID].Gateway.IsValid() {
			continue
		}
		if name := netnsName(ep.Netns); name != "" {
			byNS[name] = append(byNS[name], ep)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for name, eps := range byNS {
		content := r.resolvConfFor(eps, nets)
		if w, ok := r.written[name]; ok && w.Content == content {
			continue
		}
		if err := r.write(name, content); err != nil {
			if !r.warned[name] {
				r.log.Warn("not writing resolv.conf", "netns", name, "err", err)
				r.warned[name] = true
			}
			continue
		}
		changed = true
	}
	for name := range r.written {
		if _, ok := byNS[name]; ok {
			continue
		}
		r.remove(name)
		changed = true
	}
	if changed {
		r.save()
	}
}

var errNotOurs = errors.New("a resolv.conf not written by ovsnet is there")

func (r *resolvConfs) write(name, content string) error {
	dir := filepath.Join(r.dir, name)
	path := filepath.Join(dir, "resolv.conf")
	w, known := r.written[name]
	if b, err := os.ReadFile(path); err == nil {
		if !known || !strings.HasPrefix(string(b), resolvConfMark) {
			return errNotOurs
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		w.CreatedDir = true
	}
	tmp := path + ".ovsnet-tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	w.Content = content
	r.written[name] = w
	delete(r.warned, name)
	r.log.Debug("wrote resolv.conf", "netns", name)
	return nil
}

func (r *resolvConfs) remove(name string) {
	w := r.written[name]
	delete(r.written, name)
	dir := filepath.Join(r.dir, name)
	path := filepath.Join(dir, "resolv.conf")
	b, err := os.ReadFile(path)
	if err == nil && strings.HasPrefix(string(b), resolvConfMark) {
		if err := os.Remove(path); err != nil {
			r.log.Warn("removing resolv.conf", "netns", name, "err", err)
		}
	}
	if w.CreatedDir {
		_ = os.Remove(dir) // only if empty
	}
	r.log.Debug("removed resolv.conf", "netns", name)
}

func (r *resolvConfs) save() {
	if r.ledger == "" {
		return
	}
	b, err := json.Marshal(r.written)
	if err != nil {
		return
	}
	if err := os.MkdirAll(filepath.Dir(r.ledger), 0o700); err != nil {
		r.log.Warn("saving list of resolv.conf files", "err", err)
		return
	}
	tmp := r.ledger + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err == nil {
		err = os.Rename(tmp, r.ledger)
		if err != nil {
			r.log.Warn("saving list of resolv.conf files", "err", err)
		}
	}
}
