-- rct trial database, schema 2: concealed sequential randomization.
-- Groups are known by codes (A, B, ...); which code is which arm is sealed
-- with the allocation key (AES-256-GCM) in trial_meta.sealed_arms.
-- Every allocation, unblinding, withdrawal and export is an entry of a
-- hash chain; allocations mirror the allocation entries for queries.

CREATE TABLE groups (
    code  TEXT PRIMARY KEY,                  -- A, B, ...
    idx   INTEGER NOT NULL UNIQUE,           -- the group's index in the allocation algorithms
    ratio INTEGER NOT NULL                   -- its part of the allocation ratio
) STRICT;

CREATE TABLE chain (
    seq    INTEGER PRIMARY KEY,              -- 1, 2, ... without gaps
    kind   TEXT NOT NULL CHECK (kind IN ('allocate', 'unblind_family', 'unblind_trial', 'withdraw', 'export', 'reveal')),
    family INTEGER REFERENCES families(id),
    body   TEXT NOT NULL,                    -- the entry, canonical JSON
    prev   TEXT NOT NULL,                    -- hash of the previous entry (64 zeros for the first)
    hash   TEXT NOT NULL,                    -- SHA-256(prev ‖ body)
    mac    TEXT NOT NULL                     -- HMAC-SHA256(seal key, "rct chain entry" ‖ hash)
) STRICT;
CREATE INDEX chain_family ON chain(family);

CREATE TABLE allocations (
    slot          INTEGER PRIMARY KEY,       -- order of randomization: 1, 2, ...
    family        INTEGER NOT NULL UNIQUE REFERENCES families(id),
    group_code    TEXT NOT NULL REFERENCES groups(code),
    stratum       TEXT NOT NULL,             -- household=single_parent;language=dutch
    deterministic INTEGER NOT NULL CHECK (deterministic IN (0, 1)),
    allocated_on  TEXT NOT NULL,             -- calendar date (Europe/Brussels): outcome windows start here
    chain_seq     INTEGER NOT NULL UNIQUE REFERENCES chain(seq)
) STRICT;
CREATE INDEX allocations_group ON allocations(group_code);
