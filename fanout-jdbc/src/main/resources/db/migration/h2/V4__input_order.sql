-- Results in input order. A job's result_order says how complete() numbers its settled items:
-- COMPLETION as they settle, INPUT in index order. An item of an INPUT job that settles while an
-- item before it has not is held: it is settled and counted, its seq is -1 - idx (not NULL, so the
-- settle guard "seq IS NULL" and the unique (job_id, seq) index hold as before, and below every
-- "seq > after" a reader asks for), and it gets its real seq once every item before it has
-- settled. next_in_order is the lowest index not yet numbered nor cancelled: every item below it
-- has its seq. COMPLETION jobs never read it.
ALTER TABLE fanout_job ADD COLUMN result_order VARCHAR(16) DEFAULT 'COMPLETION' NOT NULL;
ALTER TABLE fanout_job ADD COLUMN next_in_order BIGINT DEFAULT 0 NOT NULL;
ALTER TABLE fanout_job ADD CONSTRAINT fanout_job_result_order_ck
    CHECK (result_order IN ('COMPLETION', 'INPUT'));
