-- rct trial database, schema 7: the accounts of rct serve.
-- rct:foreign-keys-off (the chain table is rebuilt to widen its kinds)
--
-- 'access' entries record, without the key, who logged in, downloaded or
-- uploaded what through rct serve: hash-linked like every entry, covered
-- by the MAC of the next entry appended with the key.

CREATE TABLE chain_new (
    seq    INTEGER PRIMARY KEY,
    kind   TEXT NOT NULL CHECK (kind IN ('init', 'allocate', 'unblind_family', 'unblind_trial', 'withdraw', 'export', 'reveal', 'caselog', 'access')),
    family INTEGER REFERENCES families(id),
    body   TEXT NOT NULL,
    prev   TEXT NOT NULL,
    hash   TEXT NOT NULL,
    mac    TEXT NOT NULL
) STRICT;
INSERT INTO chain_new SELECT seq, kind, family, body, prev, hash, mac FROM chain;
DROP TABLE chain;
ALTER TABLE chain_new RENAME TO chain;
CREATE INDEX chain_family ON chain(family);

-- An account of rct serve: a role, an argon2id password hash (PHC string),
-- and the failed logins in a row (locked at 10 until a new password).
CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    role       TEXT NOT NULL CHECK (role IN ('researcher', 'randomizer', 'interviewer', 'case_manager', 'analyst')),
    hash       TEXT NOT NULL,
    disabled   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    failed     INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
) STRICT;

-- The families an interviewer visits: they see and report these only.
CREATE TABLE user_families (
    user   INTEGER NOT NULL REFERENCES users(id),
    family INTEGER NOT NULL REFERENCES families(id),
    PRIMARY KEY (user, family)
) STRICT;
