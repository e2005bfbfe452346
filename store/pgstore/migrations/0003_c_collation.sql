-- Identifiers and addresses compare byte-wise: COLLATE "C" makes every
-- B-tree comparison a memcmp instead of a locale-aware strcoll (the ledger
-- indexes are probed two or three times per message).
ALTER TABLE blasts ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE blasts ALTER COLUMN org_id TYPE text COLLATE "C";
ALTER TABLE rows ALTER COLUMN patient_id TYPE text COLLATE "C";
ALTER TABLE rows ALTER COLUMN address TYPE text COLLATE "C";
ALTER TABLE rows ALTER COLUMN lease_owner TYPE text COLLATE "C";
ALTER TABLE rows ALTER COLUMN provider_message_id TYPE text COLLATE "C";
ALTER TABLE events ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE suppressions ALTER COLUMN org_id TYPE text COLLATE "C";
ALTER TABLE suppressions ALTER COLUMN address TYPE text COLLATE "C";
ALTER TABLE rate_budgets ALTER COLUMN key TYPE text COLLATE "C";
