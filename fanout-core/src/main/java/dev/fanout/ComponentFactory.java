package dev.fanout;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Makes a durable job's function, transform, reducer or consumer from the configuration stored with
 * the job, such as an HTTP function's URL or a transform's expression. An engine calls it once per
 * job it runs (again after a restart), so what it makes may hold per-job state, such as a rate
 * limiter.
 *
 * @param <C> what it makes
 */
@FunctionalInterface
public interface ComponentFactory<C> {
  /**
   * Makes the component for one job.
   *
   * @param job the job it serves; null when the engine only checks a configuration, before a
   *     submitted job is stored
   * @param config the configuration given with the component's name, or null when none was
   * @return the component, never null
   * @throws IllegalArgumentException when the configuration is not valid; a submission that names
   *     it fails with this message
   */
  C create(JobId job, JsonNode config);
}
