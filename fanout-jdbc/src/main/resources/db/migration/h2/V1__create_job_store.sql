-- The durable job store. Times are TIMESTAMP(3) WITH TIME ZONE, written in UTC by the store and cut
-- to the millisecond; the engine passes every time in, the database clock is never read.
-- H2 has no partial indexes, so where PostgreSQL filters an index by state, H2 leads it with state.
-- VARCHAR without a length holds up to 1,000,000,000 characters in H2 2.x and stays in the row,
-- which is several times faster than a CLOB for the small JSON values items usually are.

-- One row per job. The counts are kept exact in the same transactions that move its items, each
-- of which locks this row first, so reading a job never scans its items and the RUNNING count a
-- claim reads under the lock is the truth.
CREATE TABLE fanout_job (
    id              VARCHAR(36)    NOT NULL,
    sealed          BOOLEAN        NOT NULL,
    -- ACCEPTED or RUNNING until final; PAUSED is the paused flag on top of those two.
    state           VARCHAR(16)    NOT NULL,
    paused          BOOLEAN        NOT NULL,
    spec            VARCHAR        NOT NULL,
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
    aggregate       VARCHAR,
    error           VARCHAR,
    CONSTRAINT fanout_job_pk PRIMARY KEY (id),
    CONSTRAINT fanout_job_state_ck
        CHECK (state IN ('ACCEPTED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED')),
    CONSTRAINT fanout_job_max_concurrency_ck CHECK (max_concurrency >= 1),
    CONSTRAINT fanout_job_counts_ck CHECK (pending >= 0 AND running >= 0 AND succeeded >= 0
        AND failed >= 0 AND cancelled >= 0 AND retries >= 0 AND last_seq >= 0)
);

-- listJobs(): newest first, paged by (created_at, id); activeJobs() reads it backwards.
CREATE INDEX fanout_job_newest_first ON fanout_job (created_at DESC, id DESC);
-- purge(): jobs that became final long ago.
CREATE INDEX fanout_job_finished_at ON fanout_job (finished_at);

-- One row per item of a job, from PENDING to its result.
CREATE TABLE fanout_item (
    job_id          VARCHAR(36)    NOT NULL,
    idx             BIGINT         NOT NULL,
    state           VARCHAR(16)    NOT NULL,
    payload         VARCHAR        NOT NULL,
    attempts        INTEGER        NOT NULL,
    -- Bumped whenever the item changes hands, so a worker that lost it cannot complete it.
    fence           BIGINT         NOT NULL,
    owner           VARCHAR,
    lease_until     TIMESTAMP(3) WITH TIME ZONE,
    -- A retry's earliest next claim; NULL means at once.
    not_before      TIMESTAMP(3) WITH TIME ZONE,
    -- Set once, when the item settles with a result.
    seq             BIGINT,
    result          VARCHAR,
    -- The final error when FAILED; the last attempt's error while a retry is pending.
    error           VARCHAR,
    duration_millis BIGINT,
    CONSTRAINT fanout_item_pk PRIMARY KEY (job_id, idx),
    CONSTRAINT fanout_item_job_fk FOREIGN KEY (job_id) REFERENCES fanout_job (id),
    CONSTRAINT fanout_item_state_ck
        CHECK (state IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'))
);

-- claim(): a job's PENDING items, lowest index first; finish(): its SUCCEEDED ones in index order.
CREATE INDEX fanout_item_by_state ON fanout_item (job_id, state, idx);
-- reclaimExpired(): RUNNING items by lease end.
CREATE INDEX fanout_item_lease ON fanout_item (state, lease_until);
-- renewLeases(): a worker's RUNNING items.
CREATE INDEX fanout_item_owner ON fanout_item (state, owner);
-- results(): settled items by sequence number; unique, as complete() promises (NULLs are distinct).
CREATE UNIQUE INDEX fanout_item_seq ON fanout_item (job_id, seq);
-- failures(): the failed items by sequence number, without stepping over the succeeded ones.
CREATE INDEX fanout_item_failed ON fanout_item (job_id, state, seq);

-- How far each named consumer has read a job's results.
CREATE TABLE fanout_ack (
    job_id   VARCHAR(36) NOT NULL,
    consumer VARCHAR     NOT NULL,
    seq      BIGINT      NOT NULL,
    CONSTRAINT fanout_ack_pk PRIMARY KEY (job_id, consumer),
    CONSTRAINT fanout_ack_job_fk FOREIGN KEY (job_id) REFERENCES fanout_job (id)
);
