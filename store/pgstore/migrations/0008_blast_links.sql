-- The link targets of sent emails (store.LinkIndex): a tracked click reads
-- one small row instead of the blast's content.
CREATE TABLE blast_links (
	blast_id text COLLATE "C" PRIMARY KEY,
	org_id   text COLLATE "C" NOT NULL,
	links    text[] NOT NULL
);
