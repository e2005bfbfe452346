-- Every ledger update in PostgreSQL writes a new tuple version into every
-- index whose predicate it satisfies (the indexed status and lease columns
-- rule out HOT updates), so each index costs two insertions per message.
-- rows_blast (blast_seq, id) is not needed: keyset pages scan the primary
-- key (a blast's rows are inserted together) and aggregates use
-- rows_patient (blast_seq, patient_id).
DROP INDEX IF EXISTS rows_blast;
