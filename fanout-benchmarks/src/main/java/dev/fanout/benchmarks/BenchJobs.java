package dev.fanout.benchmarks;

/**
 * The job methods {@link JobRunrContender} enqueues. JobRunr stores a job as a class name, a method
 * name and its arguments, and calls the method by reflection on a worker, so the class must be
 * public; static methods spare it from instantiating anything per job.
 */
public final class BenchJobs {

  private BenchJobs() {}

  /**
   * Does nothing with its item: what is measured is JobRunr's own cost per job.
   *
   * @param item the job's index in its run, stored with the job as its argument
   */
  public static void noop(int item) {
    // Intentionally empty.
  }

  /**
   * Blocks for 100 ms, as a job waiting on I/O would.
   *
   * @param item the job's index in its run, stored with the job as its argument
   * @throws InterruptedException if JobRunr interrupts the worker, as it does when it stops
   */
  public static void sleep100Ms(int item) throws InterruptedException {
    Thread.sleep(100);
  }
}
