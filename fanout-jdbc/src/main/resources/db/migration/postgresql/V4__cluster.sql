-- A cluster. Each engine (node) upserts its row at every heartbeat, marks it stopped when it shuts
-- down cleanly, and a node whose last_seen is older than the lease has died: its leases run out
-- and other nodes reclaim its items. Rows are deleted an hour after last_seen.
CREATE TABLE fanout_node (
    id          TEXT         NOT NULL,
    host        TEXT         NOT NULL,
    version     TEXT         NOT NULL,
    started_at  TIMESTAMP(3) WITH TIME ZONE NOT NULL,
    last_seen   TIMESTAMP(3) WITH TIME ZONE NOT NULL,
    concurrency INTEGER      NOT NULL,
    running     INTEGER      NOT NULL,
    stopped     BOOLEAN      NOT NULL,
    CONSTRAINT fanout_node_pk PRIMARY KEY (id)
);

-- One node at a time delivers a job's results to a named consumer: the holder of this lease.
-- NULL holder: nobody holds it. Kept on the acknowledgement row it guards.
ALTER TABLE fanout_ack ADD COLUMN holder TEXT;
ALTER TABLE fanout_ack ADD COLUMN lease_until TIMESTAMP(3) WITH TIME ZONE;
