-- rct trial database, schema 5: survey instruments. The codebook is stored
-- in numbered versions; each answer is kept in every version it had (a
-- changed value is a new version, history is never lost), with the import
-- batch (file, SHA-256, who, when) and the row it came from. Forms are the
-- protocol's waves (m0, m6, ...) and 'caselog', the case managers' activity
-- log, whose period is a month (yyyy-mm); a wave's period is ''.

CREATE TABLE codebooks (
    version      INTEGER PRIMARY KEY,          -- 1, 2, ...: the highest is in force
    label        TEXT NOT NULL,                -- the codebook's own version string
    sha256       TEXT NOT NULL,
    text         TEXT NOT NULL,
    installed_by TEXT NOT NULL,
    installed_at TEXT NOT NULL,
    reason       TEXT NOT NULL
) STRICT;

CREATE TABLE survey_batches (
    batch    INTEGER PRIMARY KEY REFERENCES import_batches(id),
    form     TEXT NOT NULL,
    codebook INTEGER NOT NULL REFERENCES codebooks(version),
    sheet    TEXT NOT NULL                    -- '' for CSV
) STRICT;

CREATE TABLE survey_responses (
    family      INTEGER NOT NULL REFERENCES families(id),
    wave        TEXT NOT NULL,                 -- form: a wave id or 'caselog'
    period      TEXT NOT NULL DEFAULT '',      -- caselog: yyyy-mm
    first_batch INTEGER NOT NULL REFERENCES import_batches(id),
    PRIMARY KEY (family, wave, period)
) STRICT;

CREATE TABLE survey_values (
    family     INTEGER NOT NULL,
    wave       TEXT NOT NULL,
    period     TEXT NOT NULL,
    variable   TEXT NOT NULL,
    version    INTEGER NOT NULL,               -- 1, 2, ...: the highest is current
    value      TEXT,                           -- canonical text; NULL: blanked with --overwrite-blanks
    batch      INTEGER NOT NULL REFERENCES import_batches(id),
    source_row INTEGER NOT NULL,
    PRIMARY KEY (family, wave, period, variable, version),
    FOREIGN KEY (family, wave, period) REFERENCES survey_responses(family, wave, period) DEFERRABLE INITIALLY DEFERRED
) STRICT, WITHOUT ROWID;                       -- one b-tree: imports of 100,000 rows insert millions of values

-- Warnings raised on import (soft ranges, answers where relevance is false,
-- interviews out of window), for the data-quality section of the report.
CREATE TABLE survey_warnings (
    batch    INTEGER NOT NULL REFERENCES import_batches(id),
    family   INTEGER NOT NULL REFERENCES families(id),
    wave     TEXT NOT NULL,
    period   TEXT NOT NULL,
    variable TEXT NOT NULL,
    sheet    TEXT NOT NULL,
    row      INTEGER NOT NULL,
    col      TEXT NOT NULL,
    value    TEXT NOT NULL,
    rule     TEXT NOT NULL,
    message  TEXT NOT NULL
) STRICT;
CREATE INDEX survey_warnings_batch ON survey_warnings(batch);
