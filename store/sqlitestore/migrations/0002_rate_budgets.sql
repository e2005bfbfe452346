-- Shared send budgets (store.RateBudget): one GCRA "theoretical arrival
-- time" per key, in Unix nanoseconds.
CREATE TABLE rate_budgets (
	key TEXT    PRIMARY KEY,
	tat INTEGER NOT NULL
) WITHOUT ROWID;
