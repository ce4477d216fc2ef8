package trial

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rct-trials/rct/internal/progress"
	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migration is one schema step, applied in order of Version.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the schema steps embedded in this binary, in order.
func Migrations() []Migration {
	entries, _ := fs.ReadDir(migrationFS, "migrations")
	var out []Migration
	for _, e := range entries {
		name := e.Name()
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			panic("trial: migration without a number: " + name)
		}
		b, _ := migrationFS.ReadFile("migrations/" + name)
		out = append(out, Migration{Version: v, Name: strings.TrimSuffix(name, ".sql"), SQL: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out
}

// DB is an open trial database.
type DB struct {
	Path string
	sql  *sql.DB
	// ReadOnly: the file (or its folder) cannot be written by this user, as
	// a copy on read-only media or an archive: it is read as it is, and
	// every write is refused with that reason.
	ReadOnly bool
	// Progress, when set, is told of the long steps (the audit chain's
	// verification).
	Progress progress.Func
	// siblings read the same snapshot as this reader (Snapshot).
	siblings []*DB
	// logDigest, on the readers beside a keyed write, is the sealed log's
	// digest as one of them finds it (SealedLog).
	logDigest *sharedDigest
}

// ErrReadOnly is returned by a write to a read-only trial database.
var ErrReadOnly = errors.New("the trial database is read-only")

// ErrNoDatabase is returned by Open when the file does not exist.
var ErrNoDatabase = errors.New("no trial database")

func dsn(path string) string {
	u := url.URL{Path: path}
	// WAL: readers never block the writer; synchronous FULL: a committed
	// allocation survives a power cut; _txlock=immediate: a write
	// transaction takes the write lock at BEGIN, so two processes never
	// both read-then-write the same state; secure_delete: what is deleted
	// (a readable log once sealed, names of decided review pairs) is
	// overwritten, not left in free pages for anyone with the file.
	return "file:" + u.EscapedPath() + "?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(30000)&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)&" + mmap + "&_pragma=secure_delete(ON)&_txlock=immediate"
}

// mmap has SQLite read the database file through a read-only memory map
// (up to SQLite's ceiling, 2 GiB less 64 KiB), not a pread per page into
// its cache: at 80,000 families, audit verify takes 2.3 s instead of 3.8,
// a blinded export 6.7 s instead of 8.5 (BENCHMARKS.md). Writes still go
// through the WAL. The mapped pages are the page cache's, shared and
// reclaimable, but count in the process's RSS. What the map gives up: a
// file cut short by another program while rct reads it stops the process
// (SIGBUS) instead of returning an I/O error; what is committed stays
// committed either way.
const (
	mmapBytes = "2147418112"
	mmap      = "_pragma=mmap_size(" + mmapBytes + ")"
)

// Open opens an existing trial database and applies pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w (create one with `rct init`, or give --db)", path, ErrNoDatabase)
		}
		return nil, err
	}
	if st.IsDir() {
		return nil, fmt.Errorf("%s is a directory, not a trial database", path)
	}
	if !writable(path) {
		return OpenReadOnly(ctx, path)
	}
	db, err := openSQL(ctx, path)
	if err != nil {
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// writable reports whether this user can write the database file and
// create its companions (-wal, -shm) beside it.
func writable(path string) bool {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false
	}
	f.Close()
	probe, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".probe-*")
	if err != nil {
		return false
	}
	probe.Close()
	os.Remove(probe.Name())
	return true
}

// OpenReadOnly opens a database this user cannot write, as it is
// (immutable: nobody writes it meanwhile). Changes still in a -wal beside
// it would not be seen, so such a database is refused; so is one of an
// older schema, which only a writable open can migrate.
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	if st, err := os.Stat(path + "-wal"); err == nil && st.Size() > 0 {
		return nil, fmt.Errorf("%s is read-only and has changes not yet written into it (%s-wal): open it once where it can be written, or copy it with sqlite3 .backup", path, path)
	}
	u := url.URL{Path: path}
	s, err := sql.Open("sqlite", "file:"+u.EscapedPath()+"?mode=ro&immutable=1&_pragma=foreign_keys(1)&_pragma=busy_timeout(30000)&_pragma=query_only(1)")
	if err != nil {
		return nil, err
	}
	s.SetMaxOpenConns(1)
	if err := s.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: not a readable trial database: %w", path, err)
	}
	db := &DB{Path: path, sql: s, ReadOnly: true}
	applied := map[int]bool{}
	rows, err := s.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: not a trial database: %w", path, err)
	}
	for rows.Next() {
		var v int
		rows.Scan(&v)
		applied[v] = true
	}
	rows.Close()
	for _, m := range Migrations() {
		if !applied[m.Version] {
			s.Close()
			return nil, fmt.Errorf("%s is read-only and of an older schema (without %s): open it once where it can be written, to migrate it", path, m.Name)
		}
	}
	return db, nil
}

func openSQL(ctx context.Context, path string) (*DB, error) {
	s, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, err
	}
	s.SetMaxOpenConns(1) // one connection: the process's writes are serial anyway
	if err := s.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: not a readable trial database: %w", path, err)
	}
	return &DB{Path: path, sql: s}, nil
}

// Close closes the database.
func (db *DB) Close() error { return db.sql.Close() }

// SQL gives read access to the underlying database, for packages that own
// tables of their own (survey, linkage) and for tests.
func (db *DB) SQL() *sql.DB { return db.sql }

// foreignKeysOff marks a migration that rebuilds a table others refer
// to: it runs with foreign keys off (SQLite's way of changing a table's
// schema), and their integrity is checked before it commits.
const foreignKeysOff = "rct:foreign-keys-off"

// migrate applies the embedded migrations the database has not seen, in one
// transaction.
func (db *DB) migrate(ctx context.Context) error {
	if off, err := db.pendingNeedsForeignKeysOff(ctx); err != nil {
		return err
	} else if off {
		// PRAGMA foreign_keys is a no-op inside a transaction: set it on
		// the (single) connection around the migration.
		if _, err := db.sql.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return err
		}
		defer db.sql.ExecContext(ctx, `PRAGMA foreign_keys = ON`)
	}
	return db.Write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, sha256 TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`); err != nil {
			return fmt.Errorf("%s: not a trial database: %w", db.Path, err)
		}
		applied := map[int]string{}
		rows, err := tx.QueryContext(ctx, `SELECT version, sha256 FROM schema_migrations`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var v int
			var h string
			if err := rows.Scan(&v, &h); err != nil {
				rows.Close()
				return err
			}
			applied[v] = h
		}
		rows.Close()
		ms := Migrations()
		for v := range applied {
			if v > ms[len(ms)-1].Version {
				return fmt.Errorf("%s has schema version %d, newer than this rct knows (%d): upgrade rct", db.Path, v, ms[len(ms)-1].Version)
			}
		}
		for _, m := range ms {
			sum := sha256.Sum256([]byte(m.SQL))
			h := hex.EncodeToString(sum[:])
			if old, ok := applied[m.Version]; ok {
				if old != h {
					return fmt.Errorf("%s: migration %s was applied from a different text (sha256 %s…, this rct has %s…)", db.Path, m.Name, old[:12], h[:12])
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if strings.Contains(m.SQL, foreignKeysOff) {
				var n int
				if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_foreign_key_check`).Scan(&n); err != nil || n > 0 {
					return fmt.Errorf("migration %s: %d foreign keys broken (%v)", m.Name, n, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations VALUES (?, ?, ?, ?)`,
				m.Version, m.Name, h, time.Now().UTC().Format(time.RFC3339)); err != nil {
				return err
			}
		}
		return nil
	})
}

// pendingNeedsForeignKeysOff reports whether a migration not applied yet
// runs with foreign keys off.
func (db *DB) pendingNeedsForeignKeysOff(ctx context.Context) (bool, error) {
	applied := map[int]bool{}
	rows, err := db.sql.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err == nil {
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return false, err
			}
			applied[v] = true
		}
		rows.Close()
	} // no table yet: a new database, every migration pending
	for _, m := range Migrations() {
		if !applied[m.Version] && strings.Contains(m.SQL, foreignKeysOff) {
			return true, nil
		}
	}
	return false, nil
}

// Write runs fn in one immediate transaction: it commits when fn returns
// nil and rolls back otherwise, so a failing command writes nothing.
func (db *DB) Write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.ReadOnly {
		return fmt.Errorf("%s: %w (this user cannot write the file or its folder): this command writes to it", db.Path, ErrReadOnly)
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", db.Path, err)
	}
	return commit(tx, fn)
}

// WriteBulk is Write for a transaction that inserts millions of rows, a
// survey import's answers: its connection reads pages with pread into
// SQLite's cache, not through the memory map (mmap), for the map keeps no
// clean page in the cache and looks each one up in the WAL again. The
// 116,199-row import took 16.9 s with the map, 15.5 s without (means of
// 12 alternated runs). The connection gets its map back afterwards.
func (db *DB) WriteBulk(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if db.ReadOnly {
		return db.Write(ctx, fn) // the same refusal
	}
	c, err := db.sql.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", db.Path, err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `PRAGMA mmap_size = 0`); err != nil {
		return fmt.Errorf("%s: %w", db.Path, err)
	}
	defer c.ExecContext(context.WithoutCancel(ctx), `PRAGMA mmap_size = `+mmapBytes)
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", db.Path, err)
	}
	return commit(tx, fn)
}

// commit runs fn in tx, commits when it returns nil and rolls back
// otherwise (a panic too).
func commit(tx *sql.Tx, fn func(tx *sql.Tx) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback()
			panic(p)
		}
		if err != nil {
			tx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// Meta returns a value of trial_meta, or "" when absent.
func (db *DB) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := db.sql.QueryRowContext(ctx, `SELECT value FROM trial_meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}
