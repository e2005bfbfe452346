-- Append-only audit trail (store.AuditLog, compliance.md HI-09): the
-- triggers refuse UPDATE and DELETE, whoever issues them.
CREATE TABLE audit (
	seq        INTEGER PRIMARY KEY AUTOINCREMENT,
	org_id     TEXT    NOT NULL,
	at         INTEGER NOT NULL,
	actor      TEXT    NOT NULL,
	action     TEXT    NOT NULL,
	blast_id   TEXT    NOT NULL,
	patient_id TEXT    NOT NULL,
	row_id     INTEGER NOT NULL,
	detail     TEXT    NOT NULL
);
CREATE INDEX audit_org ON audit (org_id, seq);
CREATE INDEX audit_blast ON audit (org_id, blast_id, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
