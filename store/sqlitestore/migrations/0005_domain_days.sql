-- Daily delivered and complaint counts per sending domain
-- (store.DomainHealth, compliance.md EM-08). day is the UTC day number.
CREATE TABLE domain_days (
	org_id     TEXT    NOT NULL,
	domain     TEXT    NOT NULL,
	day        INTEGER NOT NULL,
	delivered  INTEGER NOT NULL DEFAULT 0,
	complaints INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (org_id, domain, day)
);
