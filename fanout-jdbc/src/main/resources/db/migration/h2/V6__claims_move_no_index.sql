-- Claims that move no index entry. In H2 every change of an indexed column removes and adds an
-- index entry, and the commit visits each again. With (job_id, state, idx) and (job_id, seq), an
-- item moved an entry when claimed (PENDING to RUNNING) and two when settled: most of what the
-- durable writer paid per item. Now no index holds a column a claim changes, and a settle moves
-- one entry, in the index below, from seq NULL to its sequence number.
--
-- (job_id, seq, idx) serves the results by sequence number as (job_id, seq) did, and its seq NULL
-- range is a job's unsettled items in index order. A claim finds never-claimed items from the
-- job's next_fresh on (every item from there on was never claimed, so it is PENDING and due), and
-- PENDING items below it in the seq NULL range below next_fresh, which holds the job's RUNNING
-- items and those few: cancelled items get a placeholder seq. The heartbeat and the reclaim search
-- that range too.
--
-- The unique (job_id, seq) index goes: a sequence number is given once, under the job row's lock,
-- and a settle is guarded by "seq IS NULL" and the fence (JdbcJobStore.completeLocked); the index
-- only repeated that check at the cost of a second entry to move per settle.
ALTER TABLE fanout_job ADD COLUMN next_fresh BIGINT DEFAULT 0 NOT NULL;

-- Jobs stored before this migration: next_fresh goes past every item that was ever claimed.
UPDATE fanout_job j SET next_fresh = COALESCE(
    (SELECT MAX(i.idx) + 1 FROM fanout_item i
     WHERE i.job_id = j.id AND (i.state <> 'PENDING' OR i.not_before IS NOT NULL OR i.attempts > 0)),
    0);

-- Cancelled items leave the unsettled range (see H2Dialect.cancelUnsettled): a placeholder seq below
-- every other, which no reader asks for.
UPDATE fanout_item SET seq = idx + CAST(-9223372036854775808 AS BIGINT)
WHERE state = 'CANCELLED' AND seq IS NULL;

CREATE INDEX fanout_item_by_seq ON fanout_item (job_id, seq, idx);
DROP INDEX fanout_item_by_state;
DROP INDEX fanout_item_seq;
