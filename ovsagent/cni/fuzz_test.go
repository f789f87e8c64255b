package cni

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
)

// Whatever a plugin (or anything else that reaches the socket) sends, the
// agent answers a result or a CNI error with a message, never panics, and
// an ADD that fails leaves nothing behind: no endpoint, no record.
func FuzzRequests(f *testing.F) {
	ops := []string{OpAdd, OpDel, OpCheck, OpStatus, OpGC}
	for _, seed := range []string{
		`{"containerID":"3f1c2a9b8e7d","netns":"/run/netns/x","ifname":"eth0","network":"testnet02"}`,
		`{"containerID":"3f1c2a9b8e7d","netns":"/run/netns/x","ifname":"eth0","network":"testnet02","ips":["10.0.0.9/24"],"mac":"02:00:00:00:00:09"}`,
		`{"containerID":"a","netns":"/proc/1/ns/net","ifname":"eth0","network":"testnet02"}`,
		`{"containerID":"a","netns":"/run/netns/../etc","ifname":"eth0","network":"testnet02"}`,
		`{"containerID":"a","netns":"/run/netns/x","ifname":"e/0","network":"testnet02","ips":["::1","10.0.0.300"]}`,
		`{"network":"testnet02","validAttachments":[{"containerID":"x","ifname":"eth0"}]}`,
		`{"containerID":"a","netns":"/run/netns/x","ifname":"eth0","network":"testnet03","name":"db","aliases":["x y"]}`,
		`{"containerID":"a","ifname":"eth0","network":"testnet02","prevResult":{"cniVersion":"1.0.0","interfaces":[{"name":"eth0"}],"ips":[{"interface":5,"address":"10.0.0.2/24"}]}}`,
		`[]`, `{`, ``,
	} {
		for i := range ops {
			f.Add(uint8(i), seed)
		}
	}
	f.Fuzz(func(t *testing.T, opIndex uint8, body string) {
		op := ops[int(opIndex)%len(ops)]
		k := newFakeKernel()
		ctl := newFakeController(k)
		ctl.addNetwork("testnet02", "10.0.0.0/24", "10.0.0.1", false)
		ctl.addNetwork("testnet03", "10.0.3.0/24", "10.0.3.1", true)
		s := New(Config{Logger: slog.New(slog.DiscardHandler)}, &fakeAgent{host: "h1"}, ctl, k)
		if err := s.Load(); err != nil {
			t.Fatal(err)
		}
		s.checkWait = 0
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/cni/v1/"+op, strings.NewReader(body)))
		switch w.Code {
		case http.StatusOK:
			if !json.Valid(w.Body.Bytes()) {
				t.Fatalf("200 with %q", w.Body)
			}
		case http.StatusInternalServerError:
			var e types.Error
			if json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Msg == "" {
				t.Fatalf("error answer %q", w.Body)
			}
			if op == OpAdd && (len(ctl.eps) != 0 || len(s.recs.matching(func(record) bool { return true })) != 0) {
				t.Fatalf("a failed ADD (%s) left endpoints %v or records", e.Msg, ctl.eps)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
