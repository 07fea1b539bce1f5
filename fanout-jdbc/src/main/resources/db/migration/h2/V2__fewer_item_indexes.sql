-- Fewer index entries to move per item. In H2 every change of an indexed column removes and adds
-- an index entry, and the commit visits each again: with five secondary indexes, claiming and
-- settling an item moved 18 entries, most of the store's time. These three indexes lead with the
-- state (or hold the lease), so every item moved in each of them both when claimed and when
-- settled (12 of the 18), to serve queries that can do without them:
-- * renewLeases() and reclaimExpired() find RUNNING items job by job in fanout_item_by_state
--   (job_id, state, idx), among the sealed jobs that are not final, the only ones that have any;
-- * failures() walks fanout_item_seq, which holds every settled item in sequence order.
-- PostgreSQL keeps its versions of them: they are partial, so only RUNNING or FAILED items are in
-- them, and its costs lie elsewhere.
DROP INDEX fanout_item_owner;
DROP INDEX fanout_item_lease;
DROP INDEX fanout_item_failed;
