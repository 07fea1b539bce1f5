-- The durable job store. Times are TIMESTAMP(3) WITH TIME ZONE, written in UTC by the store and cut
-- to the millisecond; the engine passes every time in, the database clock is never read.

-- One row per job. The counts are kept exact in the same transactions that move its items, each
-- of which locks this row first, so reading a job never scans its items and the RUNNING count a
-- claim reads under the lock is the truth.
CREATE TABLE fanout_job (
    id              VARCHAR(36)    NOT NULL,
    sealed          BOOLEAN        NOT NULL,
    -- ACCEPTED or RUNNING until final; PAUSED is the paused flag on top of those two.
    state           VARCHAR(16)    NOT NULL,
    paused          BOOLEAN        NOT NULL,
    spec            TEXT           NOT NULL,
    total           BIGINT         NOT NULL,
    max_concurrency INTEGER        NOT NULL,
    pending         BIGINT         NOT NULL,
    running         BIGINT         NOT NULL,
    succeeded       BIGINT         NOT NULL,
    failed          BIGINT         NOT NULL,
    cancelled       BIGINT         NOT NULL,
    retries         BIGINT         NOT NULL,
    -- The last result sequence number given out; complete() increments it under the row lock.
    last_seq        BIGINT         NOT NULL,
    created_at      TIMESTAMP(3) WITH TIME ZONE NOT NULL,
    started_at      TIMESTAMP(3) WITH TIME ZONE,
    finished_at     TIMESTAMP(3) WITH TIME ZONE,
    deadline_at     TIMESTAMP(3) WITH TIME ZONE,
    aggregate       TEXT,
    error           TEXT,
    CONSTRAINT fanout_job_pk PRIMARY KEY (id),
    CONSTRAINT fanout_job_state_ck
        CHECK (state IN ('ACCEPTED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
    CONSTRAINT fanout_job_max_concurrency_ck CHECK (max_concurrency >= 1),
    CONSTRAINT fanout_job_counts_ck CHECK (pending >= 0 AND running >= 0 AND succeeded >= 0
        AND failed >= 0 AND cancelled >= 0 AND retries >= 0 AND last_seq >= 0)
);

-- listJobs(): newest first, paged by (created_at, id).
CREATE INDEX fanout_job_newest_first ON fanout_job (created_at DESC, id DESC);
-- activeJobs(): the few jobs that are sealed and not final.
CREATE INDEX fanout_job_active ON fanout_job (created_at, id)
    WHERE sealed AND state IN ('ACCEPTED', 'RUNNING');
-- purge(): jobs that became final long ago.
CREATE INDEX fanout_job_finished_at ON fanout_job (finished_at) WHERE finished_at IS NOT NULL;

-- One row per item of a job, from PENDING to its result.
CREATE TABLE fanout_item (
    job_id          VARCHAR(36)    NOT NULL,
    idx             BIGINT         NOT NULL,
    state           VARCHAR(16)    NOT NULL,
    payload         TEXT           NOT NULL,
    attempts        INTEGER        NOT NULL,
    -- Bumped whenever the item changes hands, so a worker that lost it cannot complete it.
    fence           BIGINT         NOT NULL,
    owner           TEXT,
    lease_until     TIMESTAMP(3) WITH TIME ZONE,
    -- A retry's earliest next claim; NULL means at once.
    not_before      TIMESTAMP(3) WITH TIME ZONE,
    -- Set once, when the item settles with a result.
    seq             BIGINT,
    result          TEXT,
    -- The final error when FAILED; the last attempt's error while a retry is pending.
    error           TEXT,
    duration_millis BIGINT,
    CONSTRAINT fanout_item_pk PRIMARY KEY (job_id, idx),
    CONSTRAINT fanout_item_job_fk FOREIGN KEY (job_id) REFERENCES fanout_job (id),
    CONSTRAINT fanout_item_state_ck
        CHECK (state IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'))
);

-- claim(): a job's PENDING items, lowest index first. Partial, so it shrinks as the job runs.
CREATE INDEX fanout_item_pending ON fanout_item (job_id, idx) WHERE state = 'PENDING';
-- reclaimExpired(): RUNNING items by lease end.
CREATE INDEX fanout_item_lease ON fanout_item (lease_until) WHERE state = 'RUNNING';
-- renewLeases(): a worker's RUNNING items.
CREATE INDEX fanout_item_owner ON fanout_item (owner) WHERE state = 'RUNNING';
-- results(): settled items by sequence number; unique, as complete() promises.
CREATE UNIQUE INDEX fanout_item_seq ON fanout_item (job_id, seq) WHERE seq IS NOT NULL;
-- failures(): the failed items by sequence number, without stepping over the succeeded ones.
CREATE INDEX fanout_item_failed ON fanout_item (job_id, seq) WHERE state = 'FAILED';

-- How far each named consumer has read a job's results.
CREATE TABLE fanout_ack (
    job_id   VARCHAR(36) NOT NULL,
    consumer TEXT        NOT NULL,
    seq      BIGINT      NOT NULL,
    CONSTRAINT fanout_ack_pk PRIMARY KEY (job_id, consumer),
    CONSTRAINT fanout_ack_job_fk FOREIGN KEY (job_id) REFERENCES fanout_job (id)
);
