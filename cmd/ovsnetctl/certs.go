package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ovsnet/ovsnet/internal/pki"
)

// newCertsCommand groups the certificate helper: a CA and certificates
// for a lab or a small cluster (internal/pki, docs/security.md).
func (a *app) newCertsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Make a CA and TLS certificates for controllers and their clients (a lab or a small cluster)",
		Long: "Make a CA and TLS certificates for a lab or a small cluster, in one directory:\n" +
			"ca.pem and ca-key.pem (the CA), NAME-cert.pem and NAME-key.pem (a controller),\n" +
			"and NAME/ with ca.pem, cert.pem and key.pem for each client, the layout of\n" +
			"DOCKER_CERT_PATH and " + envCertPath + ". Keys are written 0600 and never overwritten.\n" +
			"Nothing is sent anywhere: this works without a controller.",
		Example: `  ovsnetctl certs ca /etc/ovsnet/tls
  ovsnetctl certs server /etc/ovsnet/tls controller --host ctl1.example --host 10.10.0.5 --host 127.0.0.1
  ovsnetctl certs client /etc/ovsnet/tls ops`,
		DisableFlagsInUseLine: true,
		Args:                  unknownSubcommand,
		RunE:                  showHelp,
	}
	cmd.AddCommand(a.newCertsCACommand(), a.newCertsServerCommand(), a.newCertsClientCommand())
	return cmd
}

func (a *app) newCertsCACommand() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "ca DIR",
		Short: "Make a CA in DIR (ca.pem, ca-key.pem), unless one is there",
		Example: `  ovsnetctl certs ca /etc/ovsnet/tls
  ovsnetctl certs ca --name "lab CA" ./tls`,
		DisableFlagsInUseLine: true,
		Args:                  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ca, created, err := pki.InitCA(args[0], name)
			if err != nil {
				return err
			}
			if created {
				fmt.Fprintf(a.stdout, "CA created: %s (key %s, keep it secret)\n", filepath.Join(ca.Dir, pki.CACert), filepath.Join(ca.Dir, pki.CAKey))
			} else {
				fmt.Fprintf(a.stdout, "CA kept: %s\n", filepath.Join(ca.Dir, pki.CACert))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "ovsnet CA", "the CA's common name")
	return cmd
}

func (a *app) newCertsServerCommand() *cobra.Command {
	var hosts []string
	cmd := &cobra.Command{
		Use:   "server DIR NAME --host HOST...",
		Short: "Issue a controller's certificate (DIR/NAME-cert.pem, DIR/NAME-key.pem), made by DIR's CA (created if missing)",
		Long: "Issue a controller's certificate for the names and addresses clients use to reach it\n" +
			"(--host, repeated). It also serves as the controller's client certificate when it\n" +
			"forwards requests to another replica that requires client certificates.",
		Example:               `  ovsnetctl certs server /etc/ovsnet/tls controller --host ctl1.example --host 10.10.0.5 --host 127.0.0.1`,
		DisableFlagsInUseLine: true,
		Args:                  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ca, _, err := pki.InitCA(args[0], "")
			if err != nil {
				return err
			}
			cert, key, err := ca.Server(args[1], hosts)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "server certificate: %s\nkey: %s\nuse: ovsnet-controller -tls-cert %s -tls-key %s -tls-client-ca %s\n",
				cert, key, cert, key, filepath.Join(ca.Dir, pki.CACert))
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&hosts, "host", nil, "a DNS name or IP address of the controller (repeat it)")
	return cmd
}

func (a *app) newCertsClientCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "client DIR NAME",
		Short: "Issue a client certificate into DIR/NAME/ (ca.pem, cert.pem, key.pem), made by DIR's CA",
		Example: `  ovsnetctl certs client /etc/ovsnet/tls ops
  ovsnetctl certs client /etc/ovsnet/tls agent-h1`,
		DisableFlagsInUseLine: true,
		Args:                  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ca, err := pki.LoadCA(args[0])
			if err != nil {
				return fmt.Errorf("%w (make the CA first: ovsnetctl certs ca %s)", err, args[0])
			}
			dir, err := ca.Client(args[1])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "client certificate: %s\nuse: %s=%s ovsnetctl --controller https://HOST:PORT ...\n"+
				"     docker --tlsverify --tlscacert %s --tlscert %s --tlskey %s -H tcp://HOST:PORT network ls\n",
				dir, envCertPath, dir, filepath.Join(dir, pki.CACert), filepath.Join(dir, pki.Cert), filepath.Join(dir, pki.Key))
			return nil
		},
	}
}
