package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/files"
	"github.com/rct-trials/rct/internal/hugeheap"
	"github.com/rct-trials/rct/plan"
	"github.com/rct-trials/rct/survey"
	"github.com/rct-trials/rct/trial"
)

// dbPath is the trial database: --db, else $RCT_DB, else trial.db. It is
// resolved here and nowhere else.
func (f *factory) dbPath() string {
	switch {
	case f.db != "":
		return f.db
	case f.Getenv("RCT_DB") != "":
		return f.Getenv("RCT_DB")
	}
	return "trial.db"
}

// siblingPath names a file beside the database: trial.db → trial.key.
func siblingPath(db, suffix string) string {
	return strings.TrimSuffix(db, filepath.Ext(db)) + suffix
}

// need says what a command needs of the trial it opens.
type need struct {
	// protocol is a protocol file the command was given: it must be the
	// protocol in force ("": the file recorded at init, when it still
	// exists). amend skips the check: it records a changed file.
	protocol string
	amend    bool
	// key is the allocation key file (--key). keyFor says why the command
	// needs it; when empty, the key is optional and read only when given.
	key, keyFor string
	// pseudoKey: the command needs the pseudonymisation key; pseudoKeyPath
	// is --pseudo-key ("": $RCT_PSEUDO_KEY, else beside the database).
	pseudoKey     bool
	pseudoKeyPath string
	// whole: the command reads the trial whole (analyze, report, data
	// export): its heap, up to about twice the database, is mapped and
	// advised to huge pages first (hugeheap). Not for the others: on a
	// large trial the reserve costs a light command 40 ms of its 300, and
	// not for rct serve, where in a long-lived process the kernel's merging
	// into huge pages (khugepaged) keeps memory the runtime gave back.
	whole bool
}

// session is a trial opened for one command: its database, the protocol in
// force, the keys the command needs, and who runs it. Close releases it.
type session struct {
	DB        *trial.DB
	Protocol  *trial.Protocol
	Key       *trial.AllocationKey // nil unless given or needed
	PseudoKey *trial.PseudoKey     // nil unless needed
	Actor     trial.Actor
}

// Close closes the database.
func (s *session) Close() error { return s.DB.Close() }

// open opens the trial: the one way every command does. It refuses to go
// on when a protocol file differs from the protocol in force, and reads
// and checks the keys the command needs against the database.
func (f *factory) open(ctx context.Context, n need) (*session, error) {
	// A command that reads the trial whole fills a heap of up to about
	// twice the database (1.0–1.3 GB for the 640 MB database of 80,000
	// families): so reserved, it takes a page fault per 2 MB of it, not
	// per 4 KB. A small trial's is not worth it (hugeheap.Reserve decides).
	if n.whole {
		if fi, err := os.Stat(f.dbPath()); err == nil {
			hugeheap.Reserve(2 * fi.Size())
		}
	}
	db, err := trial.Open(ctx, f.dbPath())
	if err != nil {
		return nil, err
	}
	db.Progress = f.IO.Progress
	s := &session{DB: db, Actor: f.actor()}
	if err := s.load(ctx, f, n); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *session) load(ctx context.Context, f *factory, n need) error {
	if !n.amend {
		if err := s.DB.CheckProtocolFile(ctx, n.protocol); err != nil {
			return err
		}
	}
	var err error
	if s.Protocol, _, err = s.DB.Protocol(ctx); err != nil {
		return err
	}
	switch {
	case n.keyFor != "" && n.key == "":
		return &trial.KeyError{File: "--key", Err: fmt.Errorf("%s needs the allocation key: give --key FILE", n.keyFor)}
	case n.key != "":
		// The key is never looked for implicitly: holding it is what unblinds.
		if s.Key, err = s.DB.VerifyAllocationKey(ctx, n.key); err != nil {
			return err
		}
	}
	if n.pseudoKey {
		path := n.pseudoKeyPath
		if path == "" {
			path = f.Getenv("RCT_PSEUDO_KEY")
		}
		if path == "" {
			path = siblingPath(s.DB.Path, ".pseudo.key")
		}
		if s.PseudoKey, err = s.DB.VerifyPseudoKey(ctx, path); err != nil {
			return err
		}
	}
	return nil
}

// keyed opens with the session's key what an unblinded analysis reads:
// which group code is which arm (the unsealing is recorded in the audit
// chain with why) and the sealed activity log. nil without a key.
func (s *session) keyed(ctx context.Context, why string) (*plan.Keyed, error) {
	if s.Key == nil {
		return nil, nil
	}
	// The sealed log is opened beside the chain's verification, on the
	// snapshot it verifies.
	var log *survey.ActivityLog
	arms, err := s.DB.Arms(ctx, s.Protocol, s.Key, why, s.Actor, func(r *trial.DB) error {
		var err error
		log, err = survey.OpenActivityLog(ctx, r, s.Key)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &plan.Keyed{Arms: arms, Log: log}, nil
}

// settings are the analysis settings of the protocol with the command's
// overrides, telling the terminal of the long steps' progress.
func (f *factory) settings(p *trial.Protocol, o plan.Overrides) plan.Settings {
	s := plan.Resolve(p, o)
	s.Progress = f.IO.Progress
	return s
}

// protocolOf returns the protocol of a file when given, else the trial
// database's: for commands that plan before a trial exists.
func (f *factory) protocolOf(ctx context.Context, path string) (*trial.Protocol, error) {
	if path != "" {
		return readProtocol(path)
	}
	s, err := f.open(ctx, need{})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return s.Protocol, nil
}

// readProtocol reads and checks a protocol file.
func readProtocol(path string) (*trial.Protocol, error) {
	b, err := files.ReadBounded(path, trial.MaxProtocolFile)
	if err != nil {
		return nil, dataerr.File(path, err)
	}
	return trial.ParseProtocol(path, b)
}

// fileExists reports whether path names something on disk.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
