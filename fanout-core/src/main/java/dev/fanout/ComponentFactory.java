package dev.fanout;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Makes a durable job's function, transform, reducer or consumer from the configuration stored with
 * the job, such as an HTTP function's URL or a transform's expression. An engine keeps the function
 * and transform it makes for as long as it runs the job, so they may hold per-job state, such as a
 * rate limiter; but it also calls the factory to check a configuration (at submit, and when it
 * takes a job up), and makes a reducer and a consumer when it needs them, so a factory should be
 * cheap and free of side effects a second call would repeat.
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
