// Package serve is rct's workplace in the browser: one process that serves
// the trial's database to its team, each role seeing only what it may —
// interviewers their families' templates and imports (never a group or an
// arm), case managers their caseload and activity log, researchers and
// randomizers enrolment, randomization and the audit chain, analysts the
// blinded analysis, report and data export.
//
// Pages are html/template and work without script; a JSON API under /api/
// serves scripts and the same actions. Accounts live in the trial database
// (argon2id hashes, internal/passwords); sessions in memory, in Secure,
// HttpOnly, SameSite=Strict cookies with idle and absolute timeouts; every
// form carries a CSRF token; failed logins are throttled (429) and an
// account is locked after trial.MaxFailedLogins in a row. Every login,
// download, upload and keyed action is an entry of the audit chain with
// the user. The server calls the same library functions as the command
// line, on the same SQLite file, which the command line keeps using beside
// it.
package serve
