package dev.fanout.examples;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@link BackupExample#main} for the crash test, with the first file it copies held right after the
 * copy took its final name and before its item could be recorded: the state a crash between the two
 * leaves. It prints {@code held PATH} when it gets there; the other files go on.
 */
final class HeldBackup {

  /** What the line announcing the held file starts with. */
  static final String HELD = "held ";

  private HeldBackup() {}

  public static void main(String[] args) {
    System.setProperty("logback.configurationFile", "dev/fanout/examples/logback.xml");
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    AtomicBoolean holding = new AtomicBoolean();
    FileCopier.Hooks holdFirst =
        new FileCopier.Hooks() {
          @Override
          public void moved(Path target) throws InterruptedException {
            if (holding.compareAndSet(false, true)) {
              out.println(HELD + target);
              Thread.sleep(Long.MAX_VALUE);
            }
          }
        };
    System.exit(BackupExample.run(args, out, System.err, holdFirst));
  }
}
