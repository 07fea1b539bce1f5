package dev.fanout.cli;

/**
 * A job's progress as a command shows it while it waits for the job: fed with three numbers, so
 * that the local engine ({@code fanout run}) and a server's {@code progress} events ({@code fanout
 * watch}, {@code submit --wait}) drive the same displays. {@link ProgressOptions#open} picks one.
 *
 * <p>Updates may come as often as the caller likes; a display shows the latest at its own pace.
 */
interface Progress extends AutoCloseable {

  /** Shows nothing: {@code --progress none}. */
  Progress NONE =
      new Progress() {
        @Override
        public void update(long done, long failed, long total) {}

        @Override
        public void close() {}
      };

  /**
   * Records where the job is.
   *
   * @param done items settled, whatever their status (succeeded, failed or cancelled)
   * @param failed items that finally failed, a part of {@code done}
   * @param total all of the job's items, or a negative number while unknown
   */
  void update(long done, long failed, long total);

  /** Shows the last state for good and stops the display; calling it again does nothing. */
  @Override
  void close();
}
