-- Append-only audit trail (store.AuditLog, compliance.md HI-09): the
-- trigger refuses UPDATE and DELETE, whoever issues them.
CREATE TABLE audit (
	seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	org_id     text COLLATE "C" NOT NULL,
	at         bigint NOT NULL,
	actor      text NOT NULL,
	action     text NOT NULL,
	blast_id   text COLLATE "C" NOT NULL,
	patient_id text COLLATE "C" NOT NULL,
	row_id     bigint NOT NULL,
	detail     text NOT NULL
);
CREATE INDEX audit_org ON audit (org_id, seq);
CREATE INDEX audit_blast ON audit (org_id, blast_id, seq);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit is append-only';
END $$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
