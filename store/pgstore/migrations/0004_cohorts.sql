-- Saved cohorts (cohort.Store): the cohort as JSON, keyed by organization.
CREATE TABLE cohorts (
	org_id     text COLLATE "C" NOT NULL,
	id         text COLLATE "C" NOT NULL,
	name       text COLLATE "C" NOT NULL,
	doc        jsonb  NOT NULL,
	created_at bigint NOT NULL,
	updated_at bigint NOT NULL,
	PRIMARY KEY (org_id, id)
);
CREATE INDEX cohorts_name ON cohorts (org_id, name, id);
