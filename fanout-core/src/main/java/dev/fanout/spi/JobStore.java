package dev.fanout.spi;

import dev.fanout.JobId;
import dev.fanout.JobState;
import dev.fanout.ResultOrder;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Where the durable engine keeps jobs, their items and their results, so that a crash loses
 * nothing. One store may be shared by many engines (a cluster); every method is safe to call from
 * many threads and many processes at once, and each is atomic: it happens whole or not at all.
 *
 * <p>The life of an item: written PENDING by {@link #addItems}; made RUNNING with a lease by {@link
 * #claim}; kept RUNNING by {@link #renewLeases}; settled by {@link #complete} (or put back PENDING
 * for a retry); put back PENDING by {@link #reclaimExpired} when its lease runs out; or CANCELLED
 * by {@link #finish} when its job ends early. Every change of hands bumps the item's fence, so a
 * worker that lost its lease can never record a result: recording is exactly once per item.
 *
 * <p>A settled item's sequence number ({@code seq}) is its place in the order consumers receive
 * results: 1 for the first, increasing, unique within the job, and never changed once given. A job
 * created in {@link ResultOrder#COMPLETION} order numbers its items as they settle. A job in {@link
 * ResultOrder#INPUT} order numbers them in index order: an item that settles while an item before
 * it has not is <em>held</em> (settled and counted, but not yet numbered nor returned by {@link
 * #results}) and is numbered once every item before it has settled; an item cancelled by a forced
 * {@link #finish} is passed over, and by the time a job is final all its settled items are
 * numbered. Results, acknowledgements and resumption all work by {@code seq}, so they keep index
 * order without knowing it.
 *
 * <p>Methods throw {@link StoreException} when the store cannot be reached; the engine retries.
 */
public interface JobStore extends AutoCloseable {

  /**
   * Stores a new job, unsealed: no claim sees it until {@link #seal}. A job with an idempotency key
   * is stored only if no other job holds that key, checked atomically with the insert (a unique
   * constraint), so of two concurrent creations under one key exactly one succeeds. The key is
   * freed when its job is deleted or purged.
   *
   * @param job the job
   * @throws IdempotencyKeyTakenException when another job, sealed or not, holds the job's key
   * @throws IllegalStateException when a job with that ID exists
   */
  void createJob(NewJob job);

  /**
   * Whether this store numbers results in the given order (see the class comment). The default
   * supports {@link ResultOrder#COMPLETION} only, for stores written before input order existed:
   * the engine refuses an input-ordered job on such a store rather than deliver it in another
   * order.
   *
   * @param order the order
   * @return true when {@link #createJob} honours a job created with it
   */
  default boolean supportsResultOrder(ResultOrder order) {
    return order == ResultOrder.COMPLETION;
  }

  /**
   * Stores a batch of a job's items as PENDING, in one transaction.
   *
   * @param id an unsealed job
   * @param firstIndex the index of the first item of the batch; batches arrive in order
   * @param items the items as JSON, in index order
   * @throws IllegalStateException when the job is unknown or already sealed
   */
  void addItems(JobId id, long firstIndex, List<String> items);

  /**
   * The most items the engine passes to one {@link #addItems} call; below 1 counts as 1. A store
   * whose transactions have a high fixed cost asks for more; one whose cost per item grows with the
   * transaction, for fewer. The engine also ends a batch early once its items hold about four
   * million characters (counting 64 more per item), so a large size never costs unbounded memory.
   */
  default int itemBatchSize() {
    return 1_000;
  }

  /**
   * Makes a job visible to claims: its items are all stored. A job with no items stays sealed and
   * unsettled until the engine {@link #finish finishes} it.
   *
   * @param id an unsealed job
   * @param total how many items were added
   * @throws IllegalStateException when the job is unknown, already sealed, or has another count
   */
  void seal(JobId id, long total);

  /**
   * Reads a job.
   *
   * @param id the job
   * @return the job with exact counts, or empty when unknown
   */
  Optional<JobRow> job(JobId id);

  /**
   * Lists jobs, newest first ({@code createdAt} descending, then ID descending).
   *
   * @param limit the most rows to return
   * @param before only jobs that sort after this one (exclusive paging cursor), or null. When it
   *     names a job that no longer exists, the list goes on from where that job stood, by the
   *     creation time its ID tells ({@link #createdAtOf}); a cursor naming no job and telling no
   *     time gives an empty list, so a client paging with it stops rather than starting over
   * @return the jobs with exact counts
   */
  List<JobRow> listJobs(int limit, JobId before);

  /**
   * When a job was created, as its ID tells: the engine's job IDs are UUIDs of version 7, whose
   * first 48 bits count the milliseconds since the epoch, and the engine gives each durable job
   * that moment as its {@code createdAt}. So {@link #listJobs} can page on from a cursor whose job
   * was deleted or purged between two pages.
   *
   * @param id a job ID
   * @return the moment, or empty when the ID is not a UUID of version 7
   */
  static Optional<Instant> createdAtOf(JobId id) {
    UUID uuid = UUID.fromString(id.value()); // a JobId is always a canonical UUID
    return uuid.version() == 7
        ? Optional.of(Instant.ofEpochMilli(uuid.getMostSignificantBits() >>> 16))
        : Optional.empty();
  }

  /**
   * The sealed jobs that are not final, oldest first: the ones workers should claim for.
   *
   * @return their IDs
   */
  List<JobId> activeJobs();

  /**
   * Claims up to {@code limit} PENDING items of one job whose {@code notBefore} is at or before
   * {@code now}, lowest index first, and leases them to {@code owner}. Claims nothing when the job
   * is unknown, unsealed, paused or final, and never lets the job's RUNNING items exceed its {@code
   * maxConcurrency}, even when many workers claim at once. Each claimed item becomes RUNNING with
   * its attempt count and fence incremented; the job becomes RUNNING (with its start time) on its
   * first claim.
   *
   * @param id the job
   * @param owner the worker's identity
   * @param limit the most items to claim
   * @param now the current time
   * @param leaseUntil when the leases run out unless renewed
   * @return the claimed items in index order
   */
  List<ClaimedTask> claim(JobId id, String owner, int limit, Instant now, Instant leaseUntil);

  /**
   * Extends the leases of every RUNNING item {@code owner} holds: the worker's heartbeat.
   *
   * @param owner the worker's identity
   * @param leaseUntil the new lease end
   * @return how many leases were extended
   */
  int renewLeases(String owner, Instant leaseUntil);

  /**
   * Puts every RUNNING item whose lease ended at or before {@code now} back to PENDING, with a new
   * fence, so another worker may claim it and the old holder can no longer complete it.
   *
   * @param now the current time
   * @return how many items were reclaimed
   */
  int reclaimExpired(Instant now);

  /**
   * Applies a batch of reports for one job in one transaction. Each report applies only when its
   * item is RUNNING under the report's fence; stale reports are dropped. A settled item records its
   * own attempt count (a report's attempt, taken from its claim, is the same). In a
   * completion-ordered job, settled items get the next sequence numbers of the job in report order.
   * In an input-ordered job they are held, and then every held item that no unsettled item precedes
   * any more gets the next sequence numbers in index order. Retries become PENDING with their
   * {@code notBefore}, a new fence, and the job's retry count incremented.
   *
   * @param id the job
   * @param completions the reports
   * @param now the current time
   * @return the items this call settled, in report order: with their sequence numbers in a
   *     completion-ordered job, with {@code seq} 0 in an input-ordered one (whose numbers are read
   *     with {@link #results})
   */
  List<StoredResult> complete(JobId id, List<Completion> completions, Instant now);

  /**
   * Records a batch of reports and claims the job's next items, as {@link #complete} followed by
   * {@link #claim}. A worker calls this when its attempts end, so the slots they free are handed to
   * the next items at once: stores should do both in one transaction under one job lock, which
   * halves the transactions an item costs and spares the worker's dispatcher a round trip. The
   * claim sees the slots the completions freed; a paused, unsealed or final job claims nothing.
   *
   * <p>The default runs the two calls one after the other, then reads the job's counts.
   *
   * @param id the job
   * @param completions the reports, as for {@link #complete}
   * @param now the current time
   * @param owner the worker's identity, as for {@link #claim}
   * @param claimLimit the most items to claim; 0 claims nothing
   * @param leaseUntil when the new leases run out unless renewed
   * @return what was settled and claimed, and whether the job has nothing left to run
   */
  default Recorded completeAndClaim(
      JobId id,
      List<Completion> completions,
      Instant now,
      String owner,
      int claimLimit,
      Instant leaseUntil) {
    List<StoredResult> settled = complete(id, completions, now);
    List<ClaimedTask> claimed =
        claimLimit > 0 ? claim(id, owner, claimLimit, now, leaseUntil) : List.of();
    boolean drained =
        job(id).map(r -> r.sealed() && r.pending() == 0 && r.running() == 0).orElse(false);
    return new Recorded(settled, claimed, drained);
  }

  /**
   * Ends a job exactly once, in one transaction that holds the job against every other writer.
   *
   * <p>With {@code forced} null, the job ends only when it is sealed, not final, and every item has
   * settled. With {@code forced} set ({@link JobState#CANCELLED} or {@link JobState#FAILED}), it
   * ends now: its PENDING and RUNNING items become CANCELLED with new fences. In an input-ordered
   * job every item still held is then numbered, in index order, passing over the cancelled ones.
   * Either way the store then passes the succeeded results, in index order, to {@code folder}, and
   * stores the verdict it returns (a forced state overrides the verdict's state, and a forced error
   * fills its error when it has none) with {@code finishedAt = now}.
   *
   * @param id the job
   * @param now the current time
   * @param forced the state to end in now, or null to end only when every item has settled
   * @param forcedError why the job is forced to end, or null
   * @param folder computes the verdict from the final counts and the results
   * @return the final job when this call ended it; empty when it was already final or not ready
   */
  Optional<JobRow> finish(
      JobId id, Instant now, JobState forced, String forcedError, Folder folder);

  /**
   * Pauses or resumes a job that is not final. A paused job's state reads {@link JobState#PAUSED};
   * on resume it reads RUNNING, or ACCEPTED when nothing was ever claimed.
   *
   * @param id the job
   * @param paused true to pause
   * @return true when the job exists and is not final
   */
  boolean setPaused(JobId id, boolean paused);

  /**
   * Changes a job's concurrency cap.
   *
   * @param id the job
   * @param maxConcurrency at least 1
   * @return true when the job exists and is not final
   */
  boolean setMaxConcurrency(JobId id, int maxConcurrency);

  /**
   * Puts the FAILED items of a SUCCEEDED or FAILED job back to run, in one transaction that holds
   * the job: each becomes PENDING with no result, no sequence number, no attempts and a new fence;
   * the job becomes RUNNING (not paused) with its counts moved from failed to pending, and its
   * aggregate, error and {@code finishedAt} cleared, so it is active again and is finished anew
   * when its items have settled. Results of the retried items get new sequence numbers after {@code
   * lastSeq} (in an input-ordered job, in index order among themselves, each once every retried
   * item before it has settled); their old results are no longer read by {@link #results}.
   *
   * <p>The default throws, for stores written before this operation existed.
   *
   * @param id the job
   * @return the job as it is now, when this call put failed items back; empty when the job is
   *     unknown, not final, CANCELLED, or has no failed items
   * @throws UnsupportedOperationException when the store cannot retry
   */
  default Optional<JobRow> retryFailed(JobId id) {
    throw new UnsupportedOperationException(getClass().getName() + " cannot retry failed items");
  }

  /**
   * Reads a job's numbered items in sequence order (in an input-ordered job, held items are not
   * read until they are numbered).
   *
   * @param id the job
   * @param afterSeq only items with a greater sequence number (a negative one reads from the start)
   * @param limit the most items to return
   * @return the items
   */
  List<StoredResult> results(JobId id, long afterSeq, int limit);

  /**
   * Reads a job's failed items in sequence order. Stores with an index on the status should
   * override this; the default pages through every result.
   *
   * @param id the job
   * @param afterSeq only items with a greater sequence number
   * @param limit the most items to return
   * @return the failed items
   */
  default List<StoredResult> failures(JobId id, long afterSeq, int limit) {
    List<StoredResult> out = new java.util.ArrayList<>();
    long after = afterSeq;
    while (out.size() < limit) {
      List<StoredResult> page = results(id, after, 1_000);
      if (page.isEmpty()) {
        break;
      }
      for (StoredResult r : page) {
        if (r.status() == TaskState.FAILED && out.size() < limit) {
          out.add(r);
        }
      }
      after = page.get(page.size() - 1).seq();
    }
    return out;
  }

  /**
   * The last sequence number a named consumer acknowledged for a job.
   *
   * @param id the job
   * @param consumer the consumer's name
   * @return the sequence number, 0 when it acknowledged nothing yet
   */
  long acknowledged(JobId id, String consumer);

  /**
   * Records that a named consumer has handled every result up to {@code seq}. Never moves
   * backwards.
   *
   * @param id the job
   * @param consumer the consumer's name
   * @param seq the last sequence number handled
   */
  void acknowledge(JobId id, String consumer, long seq);

  /**
   * Takes, keeps or checks the lease on delivering a job's results to a named consumer, so that in
   * a cluster one node at a time hands them over. The lease is granted when nobody holds it, when
   * its holder's lease ran out, or when {@code holder} holds it already (then it is extended). A
   * holder that stalls past its lease may deliver a page another node then delivers again: delivery
   * is at least once, and acknowledgements never move backwards.
   *
   * <p>The default grants every request, for a store only one engine uses.
   *
   * @param id the job
   * @param consumer the consumer's name
   * @param holder the node asking, by its worker ID
   * @param now the current time
   * @param until when the lease runs out unless renewed
   * @return true when {@code holder} now holds the lease
   */
  default boolean leaseDelivery(
      JobId id, String consumer, String holder, Instant now, Instant until) {
    return true;
  }

  /**
   * Gives up a delivery lease, so another node may take it at once; does nothing unless {@code
   * holder} holds it.
   *
   * @param id the job
   * @param consumer the consumer's name
   * @param holder the node giving it up
   */
  default void releaseDelivery(JobId id, String consumer, String holder) {}

  /**
   * Records a node's heartbeat: inserts its row, or replaces the row of the same ID. A row marked
   * stopped is replaced only by a node that started after it (the same ID restarted), so a late
   * beat of the run that left does not make it look alive. The default keeps nothing, for a store
   * that never lists its nodes.
   *
   * @param node the node as it is now; {@code stopped} is ignored
   */
  default void heartbeat(NodeRow node) {}

  /**
   * Marks a node stopped: it shut down cleanly, with nothing running.
   *
   * @param nodeId the node's ID
   * @param at when it stopped
   */
  default void leave(String nodeId, Instant at) {}

  /**
   * The nodes that have heartbeated and not been forgotten, oldest first.
   *
   * @return the nodes
   */
  default List<NodeRow> nodes() {
    return List.of();
  }

  /**
   * Deletes the rows of nodes last seen before a time: long stopped, or long dead.
   *
   * @param lastSeenBefore the cutoff
   * @return how many were deleted
   */
  default int forgetNodes(Instant lastSeenBefore) {
    return 0;
  }

  /**
   * The wake-ups this store carries between the engines and servers sharing it. The default carries
   * none, so waiters rely on their polls alone.
   *
   * @return the signals, the same object on every call
   */
  default StoreSignals signals() {
    return NoSignals.INSTANCE;
  }

  /**
   * Deletes a job with its items, results and acknowledgements.
   *
   * @param id the job
   * @return true when it existed
   */
  boolean deleteJob(JobId id);

  /**
   * Deletes up to {@code limit} jobs that became final before {@code cutoff}, and unsealed jobs
   * created before it (submissions that died half-written), each in its own short transaction.
   *
   * @param cutoff the age limit
   * @param limit the most jobs to delete in this call
   * @return how many jobs were deleted
   */
  int purge(Instant cutoff, int limit);

  /**
   * Like {@link #purge(Instant, int)}, with a cutoff of its own for unsealed jobs: a submission
   * that died half-written holds its idempotency key until it is purged, which should not take the
   * finished jobs' whole retention. The default, for stores that predate it, purges both by {@code
   * finishedBefore}.
   *
   * @param finishedBefore final jobs that finished before this are deleted
   * @param unsealedBefore unsealed jobs created before this are deleted
   * @param limit the most jobs to delete in this call
   * @return how many jobs were deleted
   */
  default int purge(Instant finishedBefore, Instant unsealedBefore, int limit) {
    return purge(finishedBefore, limit);
  }

  /**
   * Counts the sealed jobs by state and the items waiting to be claimed. The default pages through
   * {@link #listJobs}; a store that can count in one query should.
   *
   * @return the counts, exact at some moment during the call
   */
  default JobCounts countJobs() {
    Map<JobState, Long> jobs = new EnumMap<>(JobState.class);
    long pending = 0;
    JobId before = null;
    for (List<JobRow> page; !(page = listJobs(1_000, before)).isEmpty(); ) {
      for (JobRow row : page) {
        if (row.sealed()) {
          jobs.merge(row.state(), 1L, Long::sum);
          if (!row.state().isFinal()) {
            pending +=
                row.total() - row.running() - row.succeeded() - row.failed() - row.cancelled();
          }
        }
      }
      before = page.get(page.size() - 1).id();
    }
    return new JobCounts(jobs, pending);
  }

  /** Releases the store's connections. */
  @Override
  void close();

  /** Computes how a job ends from its final counts and its succeeded results. */
  @FunctionalInterface
  interface Folder {
    /**
     * Folds the results and decides the verdict.
     *
     * @param job the job with its final counts (its items all settled)
     * @param succeeded the succeeded results with their items' indexes, in index order, read lazily
     * @return the verdict
     */
    Verdict fold(JobRow job, Iterator<SucceededValue> succeeded);
  }
}
