-- The link targets of sent emails (store.LinkIndex): a tracked click reads
-- one small row instead of the blast's content.
CREATE TABLE blast_links (
	blast_id TEXT PRIMARY KEY,
	org_id   TEXT NOT NULL,
	links    TEXT NOT NULL
);
