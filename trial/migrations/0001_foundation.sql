-- rct trial database, schema 1: the trial, its protocol versions, import
-- batches, referrals, enrolled families and their persons, and an event log.
-- Dates are yyyy-mm-dd (Europe/Brussels calendar dates); timestamps are
-- RFC 3339 UTC. National numbers are never stored: only keyed pseudonyms.

CREATE TABLE trial_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE protocol_versions (
    amendment   INTEGER PRIMARY KEY,           -- 0 = the protocol at init
    sha256      TEXT NOT NULL,
    text        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL
) STRICT;

CREATE TABLE import_batches (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,                 -- referrals, survey, caselog, register
    file_name   TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    rows_read   INTEGER NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at TEXT NOT NULL
) STRICT;
CREATE INDEX import_batches_sha ON import_batches(kind, file_sha256);

CREATE TABLE referrals (
    id             INTEGER PRIMARY KEY,
    referral_id    TEXT NOT NULL UNIQUE,       -- Kind en Gezin's referral id
    referred_on    TEXT NOT NULL,
    batch          INTEGER NOT NULL REFERENCES import_batches(id),
    source_row     INTEGER NOT NULL,
    content_sha256 TEXT NOT NULL,
    weak_domains   INTEGER NOT NULL,           -- how many domains of the index are weak
    domains        TEXT NOT NULL,              -- JSON: {"income": 1, "education": 0, ...} (1 = weak)
    consent        INTEGER CHECK (consent IN (0, 1)),
    outcome        TEXT NOT NULL CHECK (outcome IN ('enrolled', 'not_eligible', 'declined', 'duplicate')),
    duplicate_of   INTEGER REFERENCES families(id)
) STRICT;

-- Foreign-key columns are indexed: SQLite looks children up by them.
CREATE INDEX referrals_batch ON referrals(batch);
CREATE INDEX referrals_duplicate_of ON referrals(duplicate_of);

CREATE TABLE families (
    id          INTEGER PRIMARY KEY,
    study_code  TEXT NOT NULL UNIQUE,          -- K-0042: the only name staff use
    referral    INTEGER NOT NULL UNIQUE REFERENCES referrals(id),
    enrolled_on TEXT NOT NULL
) STRICT;

CREATE TABLE family_strata (
    family   INTEGER NOT NULL REFERENCES families(id),
    variable TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (family, variable)
) STRICT;

CREATE TABLE persons (
    id            INTEGER PRIMARY KEY,
    family        INTEGER NOT NULL REFERENCES families(id),
    role          TEXT NOT NULL CHECK (role IN ('mother', 'partner', 'child')),
    nrn_pseudonym TEXT UNIQUE,                 -- HMAC-SHA256(pseudonymisation key, national number)
    first_name    TEXT NOT NULL,
    last_name     TEXT NOT NULL,
    name_key      TEXT NOT NULL,               -- normalised last + first name, for duplicate checks
    birth_date    TEXT,
    postcode      TEXT
) STRICT;
CREATE INDEX persons_family ON persons(family);
CREATE INDEX persons_name_birth ON persons(name_key, birth_date);

CREATE TABLE events (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    kind   TEXT NOT NULL,                      -- init, amend, enroll, ...
    family INTEGER REFERENCES families(id),
    detail TEXT NOT NULL                       -- JSON
) STRICT;
