-- Saved cohorts (cohort.Store): the cohort as JSON, keyed by organization.
CREATE TABLE cohorts (
	org_id     TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	name       TEXT    NOT NULL,
	doc        BLOB    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (org_id, id)
) WITHOUT ROWID;
CREATE INDEX cohorts_name ON cohorts (org_id, name, id);
