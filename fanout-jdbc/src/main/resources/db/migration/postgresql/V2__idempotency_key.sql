-- Idempotent submissions: a job may carry the key its submitter sent and a fingerprint of what it
-- sent (the server's SHA-256 of the request body). The unique index is what makes two concurrent
-- submissions under one key create one job, across every engine sharing the database: the second
-- insert waits for the first to commit and then fails. Partial, so jobs without a key cost
-- nothing. Deleting or purging the job frees its key.
ALTER TABLE fanout_job ADD COLUMN idempotency_key VARCHAR(255);
ALTER TABLE fanout_job ADD COLUMN fingerprint VARCHAR(128);
CREATE UNIQUE INDEX fanout_job_idempotency_key ON fanout_job (idempotency_key)
    WHERE idempotency_key IS NOT NULL;
