package dev.fanout;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

class SmokeTest {
  @Test
  void squares_are_summed() {
    try (Engine engine = FanOut.builder().build()) {
      var seen = new ConcurrentLinkedQueue<Long>();
      JobHandle<Long> job =
          engine.submit(
              JobSpec.items(LongStream.rangeClosed(1, 10_000).boxed().toList())
                  .function((Long n, TaskContext ctx) -> n * n)
                  .consumer(r -> seen.add(r.index()))
                  .reduce(Reducers.sumLong())
                  .build());
      JobOutcome<Long> outcome = job.outcome().join();
      assertThat(outcome.state()).isEqualTo(JobState.SUCCEEDED);
      long expected = 0;
      for (long i = 1; i <= 10_000; i++) expected += i * i;
      assertThat(outcome.aggregate()).isEqualTo(expected);
      assertThat(seen).hasSize(10_000);
      assertThat(outcome.status().succeeded()).isEqualTo(10_000);
      List<Long> collected =
          engine
              .submit(
                  JobSpec.items(List.of(3L, 1L, 2L))
                      .function((Long n, TaskContext ctx) -> n)
                      .reduce(Reducers.<Long>collect())
                      .build())
              .outcome()
              .join()
              .aggregate();
      assertThat(collected).containsExactly(3L, 1L, 2L);
    }
  }
}
