//go:build e2e

package e2e

import (
	"fmt"
	"testing"

	"github.com/ovsnet/ovsnet/client"
	"github.com/ovsnet/ovsnet/test/cluster"
)

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

func apiFor(t *testing.T, c *cluster.Cluster, url string) *client.Client {
	t.Helper()
	api, err := client.New(url)
	if err != nil {
		t.Fatal(err)
	}
	return api
}
