package main

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/rct-trials/rct/serve"
	"github.com/spf13/cobra"
)

// ServeOptions are the inputs of `rct serve`.
type ServeOptions struct {
	Addr    string
	Key     string
	TLSCert string
	TLSKey  string
	Draws   int
}

func newServeCmd(f *factory) *cobra.Command {
	var o ServeOptions
	cmd := &cobra.Command{
		Use:   "serve [--key trial.key] [--addr 127.0.0.1:8080] [--tls-cert F --tls-key F]",
		Short: "The trial's workplace in the browser: each role sees only what it may",
		Long: `Serve the trial database to its team over HTTP: interviewers download their
families' templates and upload filled workbooks (checked as rct survey import
checks them, findings shown by row and column), case managers see their
caseload and log their months, researchers and randomizers enrol, randomize,
withdraw and verify the audit chain, analysts get the blinded analysis, report
and data export. Accounts are made with rct user add; every login, download,
upload and keyed action is an entry of the audit chain with the user.

Without --key the server offers only what needs no key; with it, the roles
that may take keyed actions can (randomize, caseload, unblind). The command
line keeps working on the same database beside the server.

Listen on the loopback address behind a reverse proxy that terminates TLS, or
give --tls-cert and --tls-key. Session cookies are Secure except for plain
HTTP on a loopback address. SIGINT or SIGTERM stops the server gracefully:
requests in flight finish, nothing is left half written. /healthz answers ok
while the database can be read.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if (o.TLSCert == "") != (o.TLSKey == "") {
				return usagef("give both --tls-cert and --tls-key, or neither")
			}
			return runServe(cmd.Context(), f, o)
		},
	}
	cmd.Flags().StringVar(&o.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&o.Key, "key", "", "allocation key: allow the keyed actions (randomize, caseload, unblind)")
	cmd.Flags().StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate (PEM)")
	cmd.Flags().StringVar(&o.TLSKey, "tls-key", "", "TLS private key (PEM)")
	cmd.Flags().IntVar(&o.Draws, "draws", 0, "randomization-inference draws of the analyses served (default: the protocol's)")
	return cmd
}

func runServe(ctx context.Context, f *factory, o ServeOptions) error {
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return usagef("--addr %q: give host:port, as 127.0.0.1:8080", o.Addr)
	}
	s, err := f.open(ctx, need{key: o.Key})
	if err != nil {
		return err
	}
	defer s.Close()
	pseudo, err := s.DB.VerifyPseudoKey(ctx, siblingPath(s.DB.Path, ".pseudo.key"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	srv, err := serve.New(serve.Config{DB: s.DB, Key: s.Key, PseudoKey: pseudo, Now: f.Now, Log: f.IO.ErrOut,
		Secure: o.TLSCert != "" || !loopback, Draws: o.Draws})
	if err != nil {
		return err
	}
	if !loopback && o.TLSCert == "" {
		f.IO.Printf("warning: serving plain HTTP on %s: put a reverse proxy with TLS in front (cookies are Secure, so browsers send them over HTTPS only)\n", o.Addr)
	}
	if s.Key == nil {
		f.IO.Printf("serving without the allocation key: randomization, the caseload and unblinding are not offered\n")
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return err
	}
	hs := &http.Server{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 5 * time.Minute, WriteTimeout: 10 * time.Minute, IdleTimeout: 2 * time.Minute}
	f.IO.Printf("rct serve: %s on http%s://%s (stop with Ctrl-C)\n", s.DB.Path, map[bool]string{true: "s"}[o.TLSCert != ""], ln.Addr())
	err = srv.Serve(ctx, hs, ln, o.TLSCert, o.TLSKey)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if err == nil {
		f.IO.Printf("rct serve stopped\n")
	}
	return err
}
