-- rct trial database, schema 6: the chain begins at init, and the case
-- managers' activity log is sealed.
-- rct:foreign-keys-off (the chain table is rebuilt to widen its kinds)
--
-- Every trial created from this version has an 'init' entry first in its
-- chain (its instance, seed commitment and protocol, under the key's MAC),
-- so that an emptied or foreign chain is found. 'caselog' entries record
-- the digest of the sealed activity log after each import.

CREATE TABLE chain_new (
    seq    INTEGER PRIMARY KEY,
    kind   TEXT NOT NULL CHECK (kind IN ('init', 'allocate', 'unblind_family', 'unblind_trial', 'withdraw', 'export', 'reveal', 'caselog')),
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

-- The activity log exists for one arm only: it is stored sealed
-- (AES-256-GCM under a key derived from the allocation key), one blob per
-- month, padded to a size that depends on the number of randomized
-- families, not on which of them are logged.
CREATE TABLE sealed_log (
    period TEXT PRIMARY KEY,                 -- yyyy-mm
    blob   BLOB NOT NULL
) STRICT;
