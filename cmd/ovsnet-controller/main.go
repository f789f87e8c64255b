// Command ovsnet-controller runs one replica of ovsnet's control plane: the
// REST API (and web UI), the Consul-backed intent store and, while it holds
// the leader lock, the compiler that publishes each host's state.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/ovsnet/ovsnet/controller"
	"github.com/ovsnet/ovsnet/internal/secret"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "comma-separated addresses of the REST API and web UI: host:port or unix:/path")
	consul := flag.String("consul", envOr("CONSUL_HTTP_ADDR", "127.0.0.1:8500"), "Consul HTTP address")
	prefix := flag.String("prefix", "ovsnet", "Consul KV prefix of ovsnet's state")
	id := flag.String("id", "", "replica id in the leader lock (default host name and pid)")
	advertise := flag.String("advertise", "", "URL where the other replicas reach this one's API (they forward to the leader): http(s)://HOST:PORT or unix:/PATH (default: from the first -listen address)")
	tokenFile := flag.String("token-file", "", "file holding the bearer token every request but /_ping, /healthz and the UI's files needs (default: $OVSNET_TOKEN; none: no token)")
	readTokenFile := flag.String("read-token-file", "", "file holding a second bearer token that may read everything and change nothing (monitoring, people who look; needs -token-file; default: $OVSNET_READ_TOKEN)")
	tokenFlag := flag.String("token", "", "refused: a token on the command line is visible in ps (use -token-file or OVSNET_TOKEN)")
	tlsCert := flag.String("tls-cert", "", "serve HTTPS on TCP listeners with this certificate (PEM; with -tls-key)")
	tlsKey := flag.String("tls-key", "", "private key of -tls-cert (PEM)")
	tlsClientCA := flag.String("tls-client-ca", "", "require TLS client certificates signed by these CAs (PEM bundle), as dockerd --tlsverify does")
	tlsCA := flag.String("tls-ca", "", "CAs (PEM bundle) this replica trusts when it forwards to another over https (default: -tls-client-ca, else the system's)")
	insecure := flag.Bool("insecure", false, "serve non-loopback addresses without TLS or without authentication (a trusted lab network only)")
	readyTimeout := flag.Duration("ready-timeout", 20*time.Second, "how long a connect waits for the host's agent")
	hostGrace := flag.Duration("host-grace", 2*time.Minute, "how long a host's agent may be gone before the host counts as dead")
	reap := flag.Bool("reap-dead-hosts", false, "remove dead hosts with their endpoints (their addresses released) by itself")
	shutdownGrace := flag.Duration("shutdown-grace", 30*time.Second, "on SIGTERM, how long requests in flight may take before the replica stops")
	logLevel := flag.String("log-level", "info", "debug, info, warn or error")
	help.Parse(flag.CommandLine, os.Args[1:], controller.Version)

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "invalid -log-level %q\n", *logLevel)
		os.Exit(2)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)
	if *tokenFlag != "" {
		fmt.Fprintln(os.Stderr, "ovsnet-controller: -token is refused: every user of this machine can read a command line (ps). Put the token in a file only the controller reads (-token-file) or in OVSNET_TOKEN")
		os.Exit(2)
	}
	token, err := secret.Token(*tokenFile, secret.EnvToken)
	if err != nil {
		log.Error("starting controller", "err", err)
		os.Exit(1)
	}
	readToken, err := secret.Token(*readTokenFile, secret.EnvReadToken)
	if err != nil {
		log.Error("starting controller", "err", fmt.Errorf("read-only %w", err))
		os.Exit(1)
	}
	tlsConfig, err := serverTLS(*tlsCert, *tlsKey, *tlsClientCA)
	if err != nil {
		log.Error("starting controller", "err", err)
		os.Exit(1)
	}
	if tlsConfig != nil {
		// One server serves TLS on TCP and plain HTTP on unix sockets.
		// Named here, HTTP/2 is set up whichever listener starts first;
		// otherwise a plain Serve that starts first leaves it off while
		// TLS still offers "h2", and HTTP/2 clients (ovsnetctl, curl) are
		// reset.
		tlsConfig.NextProtos = []string{"h2", "http/1.1"}
	}
	fwdTLS, err := forwardTLS(*tlsCert, *tlsKey, *tlsClientCA, *tlsCA)
	if err != nil {
		log.Error("starting controller", "err", err)
		os.Exit(1)
	}
	g := guard{tls: tlsConfig != nil, clientCerts: *tlsClientCA != "", token: token != "", insecure: *insecure}

	url := *advertise
	if url == "" {
		url = advertiseURL(strings.TrimSpace(strings.Split(*listen, ",")[0]), tlsConfig != nil)
	}
	c, err := controller.New(controller.Config{ConsulAddr: *consul, Prefix: *prefix, ID: *id, URL: url,
		ReadyTimeout: *readyTimeout, Token: token, ReadToken: readToken, ForwardTLS: fwdTLS, Logger: log, HostGrace: *hostGrace, ReapDeadHosts: *reap})
	if err != nil {
		log.Error("starting controller", "err", err)
		os.Exit(1)
	}
	_ = os.Unsetenv("CONSUL_HTTP_TOKEN") // read by the Consul client; kept out of the environment from now on
	var listeners []net.Listener
	for _, addr := range strings.Split(*listen, ",") {
		addr = strings.TrimSpace(addr)
		ln, err := listen1(addr)
		if err == nil {
			if err = checkListener(ln, addr, g); err != nil {
				ln.Close()
			}
		}
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			log.Error("listening", "addr", addr, "err", err)
			os.Exit(1)
		}
		if g.insecure {
			strict := g
			strict.insecure = false
			if err := checkListener(ln, addr, strict); err != nil {
				log.Warn("-insecure: serving anyway", "why", err.Error())
			}
		}
		listeners = append(listeners, ln)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Handler: c.Handler(), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: 64 << 10, TLSConfig: tlsConfig,
		// Failed TLS handshakes (a client without a certificate, say) are
		// the client's business: logged at debug level.
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		// A restore uploads a whole backup; a connect waits for its agent
		// (and a standby for a new leader); event streams extend their own
		// write deadlines.
		ReadTimeout: 2 * time.Minute, WriteTimeout: *readyTimeout + time.Minute, IdleTimeout: 2 * time.Minute}
	// The replica keeps its place (and its lead) until the requests in
	// flight are answered: a connect may be waiting for its agent.
	runCtx, stopRun := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { c.Run(runCtx); close(ran) }()
	errs := make(chan error, len(listeners))
	for _, ln := range listeners {
		_, tcp := ln.Addr().(*net.TCPAddr)
		secure := tcp && tlsConfig != nil
		log.Info("ovsnet controller listening", "addr", ln.Addr().String(), "tls", secure, "client_certs", secure && g.clientCerts,
			"token", token != "", "consul", *consul, "prefix", *prefix, "version", controller.Version)
		if secure {
			go func() { errs <- srv.ServeTLS(ln, "", "") }()
		} else {
			go func() { errs <- srv.Serve(ln) }()
		}
	}
	select {
	case err := <-errs:
		log.Error("serving", "err", err)
		os.Exit(1)
	case <-ctx.Done():
	}
	log.Info("stopping: finishing the requests in flight", "grace", *shutdownGrace)
	shutdown, cancel := context.WithTimeout(context.Background(), *shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		log.Warn("requests still running when the grace period ended", "err", err)
	}
	// Then give up the lead at once (the session ends, a standby takes
	// over without waiting for a TTL).
	stopRun()
	<-ran
	log.Info("stopped")
}

// listen1 opens host:port (TCP) or unix:/path (a socket reachable from
// every network namespace of the machine, as agents in them need).
func listen1(addr string) (net.Listener, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return listenUnix(strings.TrimPrefix(path, "//"))
	}
	return net.Listen("tcp", addr)
}

// advertiseURL is how other replicas reach a listen address: a wildcard
// host is replaced by this machine's name; TCP is https with TLS.
func advertiseURL(addr string, tls bool) string {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		return "unix:" + strings.TrimPrefix(path, "//")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		if h, err := os.Hostname(); err == nil {
			host = h
		}
	}
	scheme := "http://"
	if tls {
		scheme = "https://"
	}
	return scheme + net.JoinHostPort(host, port)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
