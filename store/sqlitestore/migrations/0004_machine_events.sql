-- Machine opens and clicks (compliance.md TR-04, TR-05): counted apart,
-- never as the patient's engagement.
ALTER TABLE rows ADD COLUMN machine_opens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE rows ADD COLUMN machine_clicks INTEGER NOT NULL DEFAULT 0;
