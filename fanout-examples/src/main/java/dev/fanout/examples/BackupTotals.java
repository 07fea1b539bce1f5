package dev.fanout.examples;

import dev.fanout.Reducer;

/**
 * The fan-in of a backup: how many files, and how many bytes, in all and actually written.
 *
 * @param files the files backed up (every succeeded item)
 * @param copied the files the backup did not have
 * @param replaced the files the backup had with other bytes
 * @param unchanged the files the backup already had, left as they were
 * @param bytes the size of every file backed up
 * @param bytesWritten the size of the copied and replaced files
 */
record BackupTotals(
    long files, long copied, long replaced, long unchanged, long bytes, long bytesWritten) {

  static final BackupTotals NONE = new BackupTotals(0, 0, 0, 0, 0, 0);

  BackupTotals plus(CopyResult r) {
    return new BackupTotals(
        files + 1,
        copied + (r.outcome() == CopyResult.Outcome.COPIED ? 1 : 0),
        replaced + (r.outcome() == CopyResult.Outcome.REPLACED ? 1 : 0),
        unchanged + (r.outcome() == CopyResult.Outcome.UNCHANGED ? 1 : 0),
        bytes + r.bytes(),
        bytesWritten + (r.written() ? r.bytes() : 0));
  }

  /** The reducer: sums are exactly order-independent, so results fold as they arrive. */
  static Reducer<CopyResult, BackupTotals> reducer() {
    return new Reducer<>() {
      @Override
      public BackupTotals identity() {
        return NONE;
      }

      @Override
      public BackupTotals accumulate(BackupTotals totals, CopyResult result) {
        return totals.plus(result);
      }

      @Override
      public boolean isCommutative() {
        return true;
      }
    };
  }
}
