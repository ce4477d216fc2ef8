-- rct trial database, schema 3: register linkage. Only register persons
-- that link to a trial person (or await clerical review) are kept, with
-- their events; the extract's identifying fields are kept only while a link
-- is under review. National numbers are never stored.

CREATE TABLE register_links (
    id          INTEGER PRIMARY KEY,
    batch       INTEGER NOT NULL REFERENCES import_batches(id),
    register    TEXT NOT NULL,
    person      INTEGER NOT NULL REFERENCES persons(id),
    tier        INTEGER NOT NULL CHECK (tier IN (0, 1)),   -- 0: national-number pseudonym; 1: Fellegi-Sunter
    weight      REAL,                                       -- match weight (bits); NULL for tier 0
    probability REAL NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('linked', 'review', 'rejected')),
    first_name  TEXT,                                       -- the extract's, for review only
    last_name   TEXT,
    birth_date  TEXT,
    postcode    TEXT,
    decided_by  TEXT,
    decided_at  TEXT
) STRICT;
CREATE INDEX register_links_person ON register_links(person);
CREATE INDEX register_links_batch ON register_links(batch);

CREATE TABLE register_events (
    id         INTEGER PRIMARY KEY,
    link       INTEGER NOT NULL REFERENCES register_links(id),
    register   TEXT NOT NULL,
    event      TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date   TEXT,
    amount     REAL,
    category   TEXT,
    source_row INTEGER NOT NULL
) STRICT;
CREATE INDEX register_events_link ON register_events(link);
