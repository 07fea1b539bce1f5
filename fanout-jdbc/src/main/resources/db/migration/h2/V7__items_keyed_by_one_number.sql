-- Items keyed by one number. H2 keys a table's rows by its primary key only when that is a single
-- integer column; the primary key (job_id, idx) was a unique index beside rows keyed by a hidden
-- row number. And H2 moves every index entry of a row it updates, whichever columns change (its
-- Table.updateRows removes the old row from each index, then adds the new one), so each claim and
-- each settle moved three entries: the row's, the key's and fanout_item_by_seq's. Keyed by
-- k = num * 2^32 + idx, where num numbers the jobs, an item is found by its row key, and a claim or
-- settle moves two entries. H2UpdateCost (fanout-benchmarks) measured about a third less time per
-- row updated, and every insert writes one entry less.
--
-- The foreign key to the job goes, as it went on PostgreSQL (its V5): H2 checked it by looking the
-- job row up for each inserted item, and would have needed an index of its own now that no index
-- leads with job_id alone but fanout_item_by_seq. The store keeps the rule itself: every statement
-- that adds or deletes items first locks the job row (addItems checks that the job exists and is
-- not sealed; deleteJob and purge delete the items before the job, under the same lock), so no item
-- can outlive or precede its job.
--
-- H2 picks a table's row key when the table is created, so the table is built anew. An item's
-- index stays below 2^32 (H2Dialect.insertItems refuses more items per job than that).
--
-- H2 commits at each DDL statement, so a process killed part way leaves part of this done, and the
-- next start runs it again from the top. The steps before the copy may already have run, hence IF
-- NOT EXISTS; the copy is one statement, rolled back whole by a kill. A kill in the moments between
-- the end of the copy and the end of this script makes the next start fail, and loses nothing:
-- the items are in fanout_item_keyed, or already renamed fanout_item. To finish by hand, run the
-- statements from the DROP TABLE on that have not run (H2's Shell, with the store stopped), then
-- delete the failed version 7 row from the store's migration history table (fanout_schema_history):
-- the next start runs this script again, which on the finished table copies it once more.

CREATE SEQUENCE IF NOT EXISTS fanout_job_num START WITH 1;

-- Existing jobs are numbered as the column is added; new ones as they are inserted.
ALTER TABLE fanout_job ADD COLUMN IF NOT EXISTS num BIGINT
    DEFAULT NEXT VALUE FOR fanout_job_num NOT NULL;

CREATE TABLE IF NOT EXISTS fanout_item_keyed (
    k               BIGINT         NOT NULL,
    job_id          VARCHAR(36)    NOT NULL,
    idx             BIGINT         NOT NULL,
    state           VARCHAR(16)    NOT NULL,
    payload         VARCHAR        NOT NULL,
    attempts        INTEGER        NOT NULL,
    fence           BIGINT         NOT NULL,
    owner           VARCHAR,
    lease_until     TIMESTAMP(3) WITH TIME ZONE,
    not_before      TIMESTAMP(3) WITH TIME ZONE,
    seq             BIGINT,
    result          VARCHAR,
    error           VARCHAR,
    duration_millis BIGINT,
    CONSTRAINT fanout_item_keyed_pk PRIMARY KEY (k),
    CONSTRAINT fanout_item_keyed_state_ck
        CHECK (state IN ('PENDING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'))
);

INSERT INTO fanout_item_keyed (k, job_id, idx, state, payload, attempts, fence, owner, lease_until,
                               not_before, seq, result, error, duration_millis)
SELECT j.num * 4294967296 + i.idx, i.job_id, i.idx, i.state, i.payload, i.attempts, i.fence,
       i.owner, i.lease_until, i.not_before, i.seq, i.result, i.error, i.duration_millis
FROM fanout_item i JOIN fanout_job j ON j.id = i.job_id;

DROP TABLE fanout_item;
ALTER TABLE fanout_item_keyed RENAME TO fanout_item;
ALTER TABLE fanout_item RENAME CONSTRAINT fanout_item_keyed_pk TO fanout_item_pk;
ALTER TABLE fanout_item RENAME CONSTRAINT fanout_item_keyed_state_ck TO fanout_item_state_ck;

-- As in V6: results by sequence number, and a job's unsettled items (seq NULL) in index order.
CREATE INDEX fanout_item_by_seq ON fanout_item (job_id, seq, idx);
