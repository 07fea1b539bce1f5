package dev.fanout.client;

import java.util.List;

/**
 * One page of a job's results ({@code GET /v1/jobs/{id}/results}), in {@code seq} order.
 *
 * @param results the results
 * @param next the last {@code seq} this page read, to pass as {@code after} for the next one
 * @param done true when the job is final and no result follows
 */
public record ResultPage(List<JobResult> results, long next, boolean done) {

  /** Freezes the list. */
  public ResultPage {
    results = List.copyOf(results);
  }
}
