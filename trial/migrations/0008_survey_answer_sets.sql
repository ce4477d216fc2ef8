-- rct trial database, schema 8: a wave's answers are stored a response at
-- a time. An import batch writes one row per response it changes, the
-- answers it stored packed as a JSON array of [variable, version, value]
-- (value null: blanked with --overwrite-blanks), sorted by variable. A
-- row per answer made a 100,000-row import insert 3.7 million b-tree
-- entries: 11 of its 15 s.
--
-- survey_values stays, as a view with the columns it had: every version
-- of every answer, for the sqlite3 shell and for the readers that are not
-- hot. Versions are as before: 1, 2, ... per answer, the highest current;
-- a later batch holds the higher version.

CREATE TABLE survey_answer_sets (
    family     INTEGER NOT NULL,
    wave       TEXT NOT NULL,
    period     TEXT NOT NULL,
    batch      INTEGER NOT NULL REFERENCES import_batches(id),
    source_row INTEGER NOT NULL,
    answers    TEXT NOT NULL,                  -- JSON, written by rct (a CHECK of it cost 10% of an import)
    UNIQUE (family, wave, period, batch, source_row),
    FOREIGN KEY (family, wave, period) REFERENCES survey_responses(family, wave, period) DEFERRABLE INITIALLY DEFERRED
) STRICT;                                      -- with a rowid: rows of ~1 KB are appended, and only the key is sorted

INSERT INTO survey_answer_sets (family, wave, period, batch, source_row, answers)
SELECT family, wave, period, batch, source_row,
       json_group_array(json_array(variable, version, value) ORDER BY variable, version)
FROM survey_values
GROUP BY family, wave, period, batch, source_row;

DROP TABLE survey_values;

CREATE VIEW survey_values (family, wave, period, variable, version, value, batch, source_row) AS
SELECT s.family, s.wave, s.period, a.value ->> 0, a.value ->> 1, a.value ->> 2, s.batch, s.source_row
FROM survey_answer_sets s, json_each(s.answers) a;
