package dev.fanout.internal;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * One call's worth of items: a single item, or a batch of consecutive ones. It keeps its attempt
 * count across retries. It is touched under its job's lock, or by the attempt that has begun on it,
 * one attempt at a time.
 */
final class Task {
  final long index;
  final int size;
  private final Object payload;
  int attempts;

  /** When the first attempt began, in the engine clock's milliseconds; -1 before that. */
  long firstStart = -1;

  private Task(long index, int size, Object payload) {
    this.index = index;
    this.size = size;
    this.payload = payload;
  }

  static Task single(long index, Object item) {
    return new Task(index, 1, item);
  }

  static Task batch(long index, List<?> items) {
    return new Task(index, items.size(), copy(items));
  }

  Object item() {
    return payload;
  }

  @SuppressWarnings("unchecked")
  <I> List<I> items() {
    return (List<I>) payload;
  }

  private static List<?> copy(List<?> items) {
    // List.copyOf refuses nulls, and a source may hold them.
    return items.contains(null)
        ? Collections.unmodifiableList(new ArrayList<>(items))
        : List.copyOf(items);
  }
}
