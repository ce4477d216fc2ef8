package trial

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"slices"
	"sync"
)

// openReaders opens n connections of their own for reading the database
// in parallel, each in a read transaction whose snapshot is taken now:
// the database as it is when openReaders is called, whatever is
// committed later. Called while the write lock is held (a write
// transaction that has written nothing yet), every reader sees what that
// transaction sees. The readers refuse writes; release ends them.
func (db *DB) openReaders(ctx context.Context, n int) (readers []*DB, release func(), err error) {
	u := url.URL{Path: db.Path}
	dsn := "file:" + u.EscapedPath() + "?_pragma=query_only(1)&_pragma=foreign_keys(1)&_pragma=busy_timeout(30000)&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)&" + mmap
	var out []*DB
	release = func() {
		for _, r := range out {
			r.sql.Exec(`ROLLBACK`)
			r.sql.Close()
		}
	}
	for range n {
		s, err := sql.Open("sqlite", dsn)
		if err != nil {
			release()
			return nil, nil, err
		}
		// One connection, kept: the read transaction begun on it stays
		// open across the queries made through this handle.
		s.SetMaxOpenConns(1)
		s.SetMaxIdleConns(1)
		out = append(out, &DB{Path: db.Path, sql: s, ReadOnly: true})
		var k int
		if _, err := s.ExecContext(ctx, `BEGIN`); err != nil {
			release()
			return nil, nil, err
		}
		if err := s.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema`).Scan(&k); err != nil {
			release()
			return nil, nil, err
		}
	}
	return out, release, nil
}

// readBeside starts the reads given to writeChained (nil ones skipped),
// each on a reader of its own, while the write transaction holds the
// lock and has written nothing: the readers' snapshot is the one the
// transaction verifies. wait waits for them all (cancelling them first
// when abort: the transaction failed) and returns the first error; nil
// when there is nothing to read.
func (db *DB) readBeside(ctx context.Context, reads []func(r *DB) error, share *sharedDigest) (wait func(abort bool) error) {
	reads = slices.DeleteFunc(slices.Clone(reads), func(f func(*DB) error) bool { return f == nil })
	if len(reads) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	rs, release, err := db.openReaders(ctx, len(reads))
	if err != nil {
		cancel()
		return func(bool) error { return err }
	}
	for _, r := range rs {
		r.logDigest = share
	}
	errs := make([]error, len(reads))
	var wg sync.WaitGroup
	for i, read := range reads {
		wg.Go(func() { errs[i] = read(rs[i]) })
	}
	return func(abort bool) error {
		if abort {
			cancel()
		}
		wg.Wait()
		cancel()
		release()
		return errors.Join(errs...)
	}
}

// Snapshot opens n readers of one state of the database, for a command
// that reads much of it and may spread a long read over the cores: the
// first is returned, the others are its Readers. No lock is taken (a long
// import is not waited for). That no commit fell between the readers'
// snapshots is checked on a connection of the pool: PRAGMA data_version
// changes there when any other connection commits. After a few tries
// under a stream of commits, or for a read-only database (nobody writes
// it), the handle itself is returned, one reader. release ends the
// readers.
func (db *DB) Snapshot(ctx context.Context, n int) (r *DB, release func(), err error) {
	if db.ReadOnly || n <= 1 {
		return db, func() {}, nil
	}
	probe, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	defer probe.Close()
	version := func() (v int64, err error) {
		err = probe.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v)
		return v, err
	}
	for range 5 {
		before, err := version()
		if err != nil {
			return nil, nil, err
		}
		rs, release, err := db.openReaders(ctx, n)
		if err != nil {
			return nil, nil, err
		}
		after, err := version()
		if err != nil {
			release()
			return nil, nil, err
		}
		if after == before {
			rs[0].siblings, rs[0].Progress = rs[1:], db.Progress
			return rs[0], release, nil
		}
		release()
	}
	return db, func() {}, nil
}

// Readers is this database handle and the readers of the same snapshot
// beside it (Snapshot): a long read may be split among them.
func (db *DB) Readers() []*DB { return append([]*DB{db}, db.siblings...) }
