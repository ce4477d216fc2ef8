package trial

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
	_ "time/tzdata" // Europe/Brussels where the system has no zone database

	"github.com/rct-trials/rct/internal/dataerr"
	"github.com/rct-trials/rct/internal/files"
)

// Actor is who runs a command and the clock it runs by; both are recorded
// with every event.
type Actor struct {
	Name string
	Now  func() time.Time
}

// Stamp is the actor's current time as recorded with events (RFC 3339, UTC).
func (a Actor) Stamp() string { return a.Now().UTC().Format(time.RFC3339) }

// brussels is the time zone of calendar dates in a trial, loaded when
// first needed (the zone database costs every command's start-up 2,000
// allocations otherwise) from the system's database or, where there is
// none, the copy embedded by time/tzdata: never a fixed offset, which
// would put the hour after midnight of a summer day on the day before.
var brussels = sync.OnceValue(func() *time.Location {
	l, err := time.LoadLocation("Europe/Brussels")
	if err != nil {
		panic("trial: no Europe/Brussels in the embedded time zone database: " + err.Error())
	}
	return l
})

// Today returns the actor's calendar date in Europe/Brussels, as midnight UTC.
func (a Actor) Today() time.Time {
	y, m, d := a.Now().In(brussels()).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// InitOptions are the inputs of Init.
type InitOptions struct {
	Protocol      *Protocol
	ProtocolPath  string // recorded so later commands notice when the file changes
	DBPath        string
	KeyPath       string // allocation key file to create
	PseudoKeyPath string // pseudonymisation key file to create
	Rand          io.Reader
	Actor         Actor
}

// InitResult says what Init created.
type InitResult struct {
	TrialID        string `json:"trial_id"`
	DB             string `json:"db"`
	Key            string `json:"key"`
	PseudoKey      string `json:"pseudo_key"`
	ProtocolSHA256 string `json:"protocol_sha256"`
	SeedCommitment string `json:"seed_commitment"`
}

// Init creates a trial: the database and the two key files, none of which
// may exist already. The database is built under a temporary name and put in
// place only when complete, so a process killed during Init leaves no
// half-made database.
func Init(ctx context.Context, o InitOptions) (*InitResult, error) {
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	paths := []string{o.DBPath, o.DBPath + "-wal", o.DBPath + "-shm", o.KeyPath, o.PseudoKeyPath, WitnessPath(o.KeyPath)}
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			return nil, dataerr.New(p, "already exists: rct init never overwrites a database or a key file (move it away first if you mean to start over)")
		}
	}
	if o.KeyPath == o.PseudoKeyPath || o.KeyPath == o.DBPath || o.PseudoKeyPath == o.DBPath {
		return nil, errors.New("init: the database and the two key files need three different paths")
	}
	inst := make([]byte, 16)
	ak := &AllocationKey{TrialID: o.Protocol.Trial.ID}
	pk := &PseudoKey{TrialID: o.Protocol.Trial.ID}
	for _, b := range [][]byte{inst, ak.Seed[:], ak.Seal[:], pk.Key[:]} {
		if _, err := io.ReadFull(o.Rand, b); err != nil {
			return nil, fmt.Errorf("init: random source: %w", err)
		}
	}
	ak.Instance = hex.EncodeToString(inst)
	pk.Instance = ak.Instance
	ak.Path = o.KeyPath

	var created []string
	cleanup := func() {
		for _, p := range created {
			os.Remove(p)
		}
	}
	for _, f := range []struct {
		path string
		data []byte
	}{{o.KeyPath, ak.encode()}, {o.PseudoKeyPath, pk.encode()}} {
		if err := writeNew(f.path, f.data, 0o600); err != nil {
			cleanup()
			return nil, err
		}
		created = append(created, f.path)
	}

	protoPath := o.ProtocolPath
	if abs, err := filepath.Abs(protoPath); err == nil {
		protoPath = abs
	}
	tmp := filepath.Join(filepath.Dir(o.DBPath), "."+filepath.Base(o.DBPath)+".init-"+ak.Instance[:8])
	var genesis witness // the chain's first head, for the witness beside the key
	err := func() error {
		db, err := openSQL(ctx, tmp)
		if err != nil {
			return err
		}
		defer db.Close()
		if err := db.migrate(ctx); err != nil {
			return err
		}
		return db.Write(ctx, func(tx *sql.Tx) error {
			meta := map[string]string{
				"trial_id":             o.Protocol.Trial.ID,
				"instance":             ak.Instance,
				"created_at":           o.Actor.Stamp(),
				"created_by":           o.Actor.Name,
				"protocol_file":        protoPath,
				"seed_commitment":      ak.SeedCommitment(),
				"allocation_key_check": ak.Check(),
				"pseudo_key_check":     pk.Check(),
				"chain_format":         "2", // the chain begins with an init entry
			}
			for k, v := range meta {
				if _, err := tx.ExecContext(ctx, `INSERT INTO trial_meta VALUES (?, ?)`, k, v); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO protocol_versions VALUES (0, ?, ?, ?, ?, ?)`,
				o.Protocol.SHA256(), string(o.Protocol.Text()), "initial protocol", o.Actor.Name, o.Actor.Stamp()); err != nil {
				return err
			}
			if err := logEvent(ctx, tx, o.Actor, "init", nil, map[string]string{
				"trial_id": o.Protocol.Trial.ID, "protocol_sha256": o.Protocol.SHA256(), "seed_commitment": ak.SeedCommitment()}); err != nil {
				return err
			}
			// The chain begins with the trial itself: an emptied or
			// foreign chain is then found.
			if _, err := appendChain(ctx, tx, ak, nil, ChainBody{Kind: KindInit, At: o.Actor.Stamp(), By: o.Actor.Name,
				Trial: o.Protocol.Trial.ID, Instance: ak.Instance, SeedCommitment: ak.SeedCommitment(), Protocol: o.Protocol.SHA256()}); err != nil {
				return err
			}
			seq, hash, err := currentHead(ctx, tx)
			genesis.Seq, genesis.Hash = seq, hash
			return err
		})
	}()
	if err == nil {
		// The database holds names of persons: readable by its owner only.
		err = os.Chmod(tmp, 0o600)
	}
	if err == nil {
		// The witness goes with the keys, before the database is in place:
		// a database never exists without it.
		created = append(created, WitnessPath(o.KeyPath))
		err = writeWitness(ak, genesis)
	}
	if err == nil {
		// Link fails if the name exists: even a database created in the
		// meantime by someone else is never overwritten.
		err = os.Link(tmp, o.DBPath)
		if err != nil && errors.Is(err, fs.ErrExist) {
			err = dataerr.New(o.DBPath, "already exists: rct init never overwrites a database")
		}
	}
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		os.Remove(p)
	}
	if err != nil {
		cleanup()
		return nil, err
	}
	return &InitResult{
		TrialID: o.Protocol.Trial.ID, DB: o.DBPath, Key: o.KeyPath, PseudoKey: o.PseudoKeyPath,
		ProtocolSHA256: o.Protocol.SHA256(), SeedCommitment: ak.SeedCommitment(),
	}, nil
}

// writeNew writes a file that must not exist yet, durably: the data goes to
// a temporary file that is synced and then linked to its name.
func writeNew(path string, data []byte, mode fs.FileMode) error {
	err := files.WriteAtomic(path, mode, files.Create, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if errors.Is(err, files.ErrExists) {
		return dataerr.New(path, "already exists: rct init never overwrites a key file")
	}
	return err
}

// logEvent appends an event with its detail as JSON.
func logEvent(ctx context.Context, tx *sql.Tx, a Actor, kind string, family *int64, detail any) error {
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO events (at, actor, kind, family, detail) VALUES (?, ?, ?, ?, ?)`,
		a.Stamp(), a.Name, kind, family, string(b))
	return err
}
