-- Machine opens and clicks (compliance.md TR-04, TR-05): counted apart,
-- never as the patient's engagement.
ALTER TABLE rows ADD COLUMN machine_opens integer NOT NULL DEFAULT 0;
ALTER TABLE rows ADD COLUMN machine_clicks integer NOT NULL DEFAULT 0;
