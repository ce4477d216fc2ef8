-- rct trial database, schema 4: outcome values, one per family, outcome and
-- wave (wave '' for register outcomes), derived by `rct outcomes derive`
-- from register events in windows after each family's randomization date
-- (and, for baseline covariates, before it). Re-deriving replaces them.

CREATE TABLE outcome_values (
    family     INTEGER NOT NULL REFERENCES families(id),
    outcome    TEXT NOT NULL,           -- protocol outcome id; id + '_baseline' for the baseline window
    wave       TEXT NOT NULL DEFAULT '',
    value      REAL,                    -- NULL: missing
    linked     INTEGER NOT NULL,        -- 1 when a person of the family is linked in the source register
    derived_at TEXT NOT NULL,
    PRIMARY KEY (family, outcome, wave)
) STRICT;
