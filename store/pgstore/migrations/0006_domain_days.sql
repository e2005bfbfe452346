-- Daily delivered and complaint counts per sending domain
-- (store.DomainHealth, compliance.md EM-08). day is the UTC day number.
CREATE TABLE domain_days (
	org_id     text COLLATE "C" NOT NULL,
	domain     text COLLATE "C" NOT NULL,
	day        bigint NOT NULL,
	delivered  bigint NOT NULL DEFAULT 0,
	complaints bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (org_id, domain, day)
);
