package dev.fanout.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;

/**
 * The product's runnable jar carries none of the benchmark module's baselines or tools: JobRunr,
 * the job scheduler the benchmarks compare Fanout with, must never reach a user's runtime.
 */
class ProductJarIT {
  @Test
  void holdsNoBenchmarkDependency() throws Exception {
    try (ZipFile jar = new ZipFile(FanoutJar.jar().toFile())) {
      List<String> names = jar.stream().map(ZipEntry::getName).toList();
      assertThat(names).as("the jar's entries").contains("dev/fanout/cli/FanoutCommand.class");
      assertThat(names)
          .as("classes of JobRunr, JFreeChart, JMH or the benchmarks in the product's jar")
          .noneMatch(
              n ->
                  n.startsWith("org/jobrunr/")
                      || n.startsWith("org/jfree/")
                      || n.startsWith("org/openjdk/jmh/")
                      || n.startsWith("dev/fanout/benchmarks/"));
    }
  }
}
