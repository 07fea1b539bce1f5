package dev.fanout.jdbc.crash;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * How many calls of a worker process are running its function right now, kept in a file that the
 * worker and the test both map into memory. The test reads it while the worker is frozen with
 * SIGSTOP, so it sees exactly the state the worker will die in: a count above zero means some item
 * is claimed and its result not yet recorded.
 */
final class InFlightGauge {

  private static final VarHandle INT =
      MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.nativeOrder());

  private final MappedByteBuffer memory;

  private InFlightGauge(MappedByteBuffer memory) {
    this.memory = memory;
  }

  /** Maps the gauge's file, creating it at zero when missing. */
  static InFlightGauge map(Path file) throws IOException {
    try (FileChannel channel =
        FileChannel.open(
            file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      // The mapping outlives the channel; a new file reads as zero.
      return new InFlightGauge(channel.map(FileChannel.MapMode.READ_WRITE, 0, Integer.BYTES));
    }
  }

  /** A call began. */
  void enter() {
    INT.getAndAdd(memory, 0, 1);
  }

  /** A call ended, normally or not. */
  void exit() {
    INT.getAndAdd(memory, 0, -1);
  }

  /** The calls running now. */
  int read() {
    return (int) INT.getVolatile(memory, 0);
  }
}
