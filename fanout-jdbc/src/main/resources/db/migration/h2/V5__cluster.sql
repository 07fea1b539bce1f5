-- A cluster's nodes and delivery leases; see the PostgreSQL migration V4__cluster.sql. An H2 file
-- holds one process, so the node list has one live node, but the engine writes it the same way.
CREATE TABLE fanout_node (
    id          VARCHAR      NOT NULL,
    host        VARCHAR      NOT NULL,
    version     VARCHAR      NOT NULL,
    started_at  TIMESTAMP(3) WITH TIME ZONE NOT NULL,
    last_seen   TIMESTAMP(3) WITH TIME ZONE NOT NULL,
    concurrency INTEGER      NOT NULL,
    running     INTEGER      NOT NULL,
    stopped     BOOLEAN      NOT NULL,
    CONSTRAINT fanout_node_pk PRIMARY KEY (id)
);

ALTER TABLE fanout_ack ADD COLUMN holder VARCHAR;
ALTER TABLE fanout_ack ADD COLUMN lease_until TIMESTAMP(3) WITH TIME ZONE;
