-- carecast ledger schema, version 1.
-- Times are INTEGER Unix nanoseconds (UTC); 0 means "not set".

CREATE TABLE blasts (
	seq             INTEGER PRIMARY KEY,          -- compact key the rows reference
	id              TEXT    NOT NULL UNIQUE,
	org_id          TEXT    NOT NULL,
	name            TEXT    NOT NULL,
	channel         TEXT    NOT NULL,
	purpose         TEXT    NOT NULL,
	cohort_ids      TEXT    NOT NULL,             -- JSON array
	status          TEXT    NOT NULL,
	content         BLOB,
	duplicated_from TEXT    NOT NULL,
	created_by      TEXT    NOT NULL,
	ledger_done     INTEGER NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	scheduled_at    INTEGER NOT NULL,
	started_at      INTEGER NOT NULL,
	completed_at    INTEGER NOT NULL,
	cancelled_at    INTEGER NOT NULL,
	version         INTEGER NOT NULL
);
CREATE INDEX blasts_org_created ON blasts (org_id, created_at DESC, id DESC);
CREATE INDEX blasts_active ON blasts (status) WHERE status IN ('sending', 'scheduled');

CREATE TABLE rows (
	id                  INTEGER PRIMARY KEY,      -- increasing in insertion order
	blast_seq           INTEGER NOT NULL REFERENCES blasts (seq),
	patient_id          TEXT    NOT NULL,
	status              TEXT    NOT NULL,
	reason              TEXT    NOT NULL DEFAULT '',
	error_code          TEXT    NOT NULL DEFAULT '',
	address             TEXT    NOT NULL DEFAULT '',
	attempts            INTEGER NOT NULL DEFAULT 0,
	next_attempt_at     INTEGER NOT NULL,
	lease_owner         TEXT    NOT NULL DEFAULT '',
	lease_until         INTEGER NOT NULL DEFAULT 0,
	provider_message_id TEXT,                     -- NULL until sent
	segments            INTEGER NOT NULL DEFAULT 0,
	cost                INTEGER NOT NULL DEFAULT 0,
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL,
	sent_at             INTEGER NOT NULL DEFAULT 0,
	delivered_at        INTEGER NOT NULL DEFAULT 0,
	failed_at           INTEGER NOT NULL DEFAULT 0,
	opens               INTEGER NOT NULL DEFAULT 0,
	clicks              INTEGER NOT NULL DEFAULT 0,
	replies             INTEGER NOT NULL DEFAULT 0,
	first_open_at       INTEGER NOT NULL DEFAULT 0,
	first_click_at      INTEGER NOT NULL DEFAULT 0,
	last_reply_at       INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX rows_patient ON rows (blast_seq, patient_id);
CREATE INDEX rows_blast ON rows (blast_seq, id);
-- Only queued rows are in the claim index, only sending rows in the lease
-- index: a row enters and leaves each once.
CREATE INDEX rows_due ON rows (blast_seq, next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX rows_lease ON rows (lease_until) WHERE status = 'sending';
CREATE INDEX rows_pmid ON rows (provider_message_id) WHERE provider_message_id IS NOT NULL;
CREATE INDEX rows_sent_to ON rows (address, sent_at) WHERE sent_at <> 0;

CREATE TABLE events (
	id TEXT    PRIMARY KEY,
	at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE suppressions (
	org_id  TEXT    NOT NULL,
	channel TEXT    NOT NULL,
	address TEXT    NOT NULL,
	reason  TEXT    NOT NULL,
	at      INTEGER NOT NULL,
	PRIMARY KEY (org_id, channel, address)
) WITHOUT ROWID;
