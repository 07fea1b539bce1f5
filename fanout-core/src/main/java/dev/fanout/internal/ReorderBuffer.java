package dev.fanout.internal;

import java.util.function.Consumer;

/**
 * Holds results that settled ahead of a lower index until the gap before them closes. Indexes are
 * dense, so a ring of slots keyed by index beats a map: no boxing, no hashing, and the ring only
 * grows to the widest gap seen, which the engine's read-ahead window bounds.
 */
final class ReorderBuffer<E> {
  private Object[] slots = new Object[16];
  private long next;
  private int count;

  /** The lowest index not yet taken out. */
  long next() {
    return next;
  }

  int size() {
    return count;
  }

  void put(long index, E element) {
    if (index < next) {
      throw new IllegalStateException(
          "index " + index + " was already taken out (next " + next + ")");
    }
    long needed = index - next + 1;
    if (needed > slots.length) {
      grow(needed);
    }
    int slot = (int) (index & (slots.length - 1));
    if (slots[slot] != null) {
      throw new IllegalStateException("index " + index + " was put twice");
    }
    slots[slot] = element;
    count++;
  }

  /** Takes out the element at {@link #next()}, or returns null while it has not arrived. */
  @SuppressWarnings("unchecked")
  E pollNext() {
    int slot = (int) (next & (slots.length - 1));
    Object element = slots[slot];
    if (element == null) {
      return null;
    }
    slots[slot] = null;
    next++;
    count--;
    return (E) element;
  }

  /** Takes out everything left, in index order, skipping the gaps. */
  @SuppressWarnings("unchecked")
  void drainRemaining(Consumer<? super E> sink) {
    while (count > 0) {
      int slot = (int) (next & (slots.length - 1));
      Object element = slots[slot];
      if (element != null) {
        slots[slot] = null;
        count--;
        sink.accept((E) element);
      }
      next++;
    }
  }

  private void grow(long needed) {
    if (needed > 1 << 30) {
      throw new IllegalStateException("reorder gap of " + needed + " items is too wide");
    }
    int capacity = Integer.highestOneBit((int) needed - 1) << 1;
    Object[] grown = new Object[capacity];
    int oldMask = slots.length - 1;
    for (long i = next; i < next + slots.length; i++) {
      grown[(int) (i & (capacity - 1))] = slots[(int) (i & oldMask)];
    }
    slots = grown;
  }
}
