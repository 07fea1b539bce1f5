package dev.fanout.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.withinPercentage;

import com.fasterxml.jackson.databind.JsonNode;
import dev.fanout.TaskContext;
import dev.fanout.spi.NodeRow;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard end to end in a real headless Chromium: Debian's {@code chromium} driven through
 * Debian's {@code chromedriver}, both named by path so Selenium never downloads a browser or a
 * driver. The server has a token, so every test goes through the login form first. Screenshots land
 * in {@code target/dashboard-*.png} for a human to look at.
 *
 * <p>Skipped when the browser or the driver is not installed, except under {@code CI=true}, where
 * {@code .ci/run} installs them and their absence is a failure.
 */
class DashboardBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
  private static final String TOKEN = "a-token-of-at-least-16-chars";
  private static final Duration PATIENCE = Duration.ofSeconds(60);

  /**
   * Selenium warns that it has no DevTools bindings for this Chromium's version; the tests use
   * WebDriver only. Held here, since java.util.logging keeps its loggers weakly.
   */
  private static final java.util.logging.Logger DEVTOOLS_LOG =
      java.util.logging.Logger.getLogger("org.openqa.selenium.devtools");

  @TempDir Path data;
  private final CountDownLatch gate = new CountDownLatch(1);
  private final Set<Integer> flakyCalls = ConcurrentHashMap.newKeySet();
  private FanoutServer server;
  private Http http;
  private ChromeDriver browser;

  @BeforeAll
  static void browserIsInstalled() {
    DEVTOOLS_LOG.setLevel(java.util.logging.Level.SEVERE);
    boolean installed = Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
    if ("true".equals(System.getenv("CI"))) {
      assertThat(installed)
          .as("CI needs %s and %s (.ci/run installs them)", CHROMIUM, CHROMEDRIVER)
          .isTrue();
    }
    Assumptions.assumeTrue(installed, "chromium or chromedriver is not installed");
  }

  @BeforeEach
  void start() {
    server =
        FanoutServer.builder()
            .port(0)
            .dataDir(data)
            .token(TOKEN)
            .pollInterval(Duration.ofMillis(20))
            .streamSettings(
                new FanoutServer.StreamSettings(
                    Duration.ofMillis(20), Duration.ofMillis(100), Duration.ofSeconds(1)))
            .function(
                "gated",
                (JsonNode item, TaskContext ctx) -> {
                  gate.await();
                  return item;
                })
            // Odd items fail their first call only, so a retry of the failed items succeeds.
            .function(
                "flaky",
                (JsonNode item, TaskContext ctx) -> {
                  int n = item.asInt();
                  if (n % 2 == 1 && flakyCalls.add(n)) {
                    throw new IllegalStateException("odd item " + n + " fails its first call");
                  }
                  return item;
                })
            // A little work per item, so a large job runs long enough to be watched.
            .function(
                "slow",
                (JsonNode item, TaskContext ctx) -> {
                  Thread.sleep(5);
                  return item;
                })
            .build()
            .start();
    http = new Http(server.url(), TOKEN);

    // The driver's path is given, so Selenium Manager is never asked to fetch one.
    System.setProperty("webdriver.chrome.driver", CHROMEDRIVER.toString());
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000");
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(new File(CHROMEDRIVER.toString()))
            .usingAnyFreePort()
            .build();
    browser = new ChromeDriver(service, options);
  }

  @AfterEach
  void stop() {
    gate.countDown();
    if (browser != null) {
      browser.quit();
    }
    server.close();
  }

  /** Opens the dashboard at a fragment, answering the login form with the token. */
  private void open(String fragment) {
    browser.get(server.url() + "/" + fragment);
    WebElement token =
        waitFor().until(ExpectedConditions.visibilityOfElementLocated(By.id("token")));
    token.sendKeys(TOKEN);
    browser.findElement(By.cssSelector("#login button[type=submit]")).click();
    waitFor().until(ExpectedConditions.invisibilityOfElementLocated(By.id("login")));
    // The token never goes into the address bar.
    assertThat(browser.getCurrentUrl()).doesNotContain(TOKEN);
  }

  private WebDriverWait waitFor() {
    return new WebDriverWait(browser, PATIENCE);
  }

  private String text(String id) {
    return browser.findElement(By.id(id)).getText();
  }

  private void waitForText(String id, String text) {
    waitFor().until(ExpectedConditions.textToBe(By.id(id), text));
  }

  private long domNodes() {
    return ((Number) script("return document.getElementsByTagName('*').length")).longValue();
  }

  private Object script(String js) {
    return ((JavascriptExecutor) browser).executeScript(js);
  }

  private int chartPoints() {
    String points = browser.findElement(By.id("rate-line")).getDomAttribute("points");
    return points == null || points.isBlank() ? 0 : points.trim().split(" ").length;
  }

  private long progressValue() {
    return Long.parseLong(browser.findElement(By.id("job-progress")).getDomProperty("value"));
  }

  private void screenshot(String name) {
    try {
      Path target = Path.of("target", "dashboard-" + name + ".png");
      Files.createDirectories(target.getParent());
      Files.copy(
          browser.getScreenshotAs(OutputType.FILE).toPath(),
          target,
          StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String numbers(int n) {
    return IntStream.range(0, n)
        .mapToObj(Integer::toString)
        .collect(Collectors.joining(",", "[", "]"));
  }

  @Test
  void a_submitted_job_is_listed_then_its_page_shows_it_succeeded_with_its_aggregate() {
    String id =
        http.submit(
            "{\"function\": {\"name\": \"identity\"}, \"items\": "
                + numbers(100)
                + ", \"reduce\": \"sum\"}");

    open("");
    WebElement link = waitFor().until(ExpectedConditions.elementToBeClickable(By.linkText(id)));
    screenshot("jobs");
    link.click();

    waitForText("job-state", "SUCCEEDED");
    waitForText("job-aggregate", "4950");
    assertThat(text("job-percent")).startsWith("100 of 100 settled");
    // Every result came through the event stream into the histogram, and `done` ended the reading.
    waitForText("latency-count", "100");
    assertThat(text("latency-p50")).endsWith(" ms");
    assertThat(text("latency-p99")).endsWith(" ms");
    assertThat(script("return stream.done")).isEqualTo(true);
    screenshot("succeeded");
  }

  @Test
  void the_cluster_panel_lists_this_server_and_a_lost_peer() {
    Instant longAgo = Instant.now().minus(Duration.ofHours(1));
    server
        .store()
        .heartbeat(new NodeRow("peer-lost", "peer-host", "0.0.1", longAgo, longAgo, 5, 2, false));

    open("");

    waitFor()
        .until(
            ExpectedConditions.textToBePresentInElementLocated(
                By.id("node-rows"), server.nodeId() + " (this server)"));
    waitFor()
        .until(ExpectedConditions.textToBePresentInElementLocated(By.id("node-rows"), "peer-lost"));
    WebElement lost =
        browser.findElement(By.xpath("//tbody[@id='node-rows']/tr[td[1]='peer-lost']"));
    assertThat(lost.getText()).contains("peer-host", "lost", "2 / 5", "0.0.1");
    screenshot("cluster");
  }

  @Test
  void latency_percentiles_stay_within_ten_percent_and_the_chart_keeps_its_last_readings() {
    open("");
    @SuppressWarnings("unchecked")
    List<Object> answer =
        (List<Object>)
            script(
                "const h = new LatencyHistogram();"
                    + " for (let i = 0; i < 200000; i++) { h.add(1 + (i % 1000)); }"
                    + " const t = new Throughput();"
                    + " for (let i = 0; i < 1000; i++) { t.add(i * 10, i * 250); }"
                    + " return [h.percentile(0.5), h.percentile(0.9), h.percentile(0.99),"
                    + " h.percentile(1), h.count, h.counts.length, t.rates.length,"
                    + " t.rates[t.rates.length - 1]];");
    double[] v = answer.stream().mapToDouble(o -> ((Number) o).doubleValue()).toArray();
    assertThat(v[0]).isCloseTo(500, withinPercentage(10));
    assertThat(v[1]).isCloseTo(900, withinPercentage(10));
    assertThat(v[2]).isCloseTo(990, withinPercentage(10));
    assertThat(v[3]).isEqualTo(1000);
    assertThat(v[4]).isEqualTo(200_000);
    assertThat(v[5]).as("buckets, not results").isEqualTo(200);
    assertThat(v[6]).as("readings kept").isEqualTo(120);
    assertThat(v[7]).as("10 items in 250 ms").isEqualTo(40);
  }

  @Test
  void a_failed_job_lists_its_failures_and_the_retry_button_runs_them_again() {
    String id =
        http.submit(
            "{\"function\": {\"name\": \"flaky\"}, \"items\": "
                + numbers(10)
                + ", \"reduce\": \"sum\", \"retry\": {\"maxAttempts\": 1}}");

    open("#/jobs/" + id);
    waitForText("job-state", "FAILED");
    waitFor().until(d -> d.findElements(By.cssSelector("#job-failures li")).size() == 5);
    assertThat(text("job-failures"))
        .contains("item 1: ", "odd item 1 fails its first call", "(1 attempt)");
    waitForText("job-aggregate", String.valueOf(0 + 2 + 4 + 6 + 8));
    waitForText("latency-count", "10");
    screenshot("failed");
    script("window.firstRun = stream");

    WebElement retry = waitFor().until(ExpectedConditions.elementToBeClickable(By.id("retry")));
    retry.click();

    waitForText("job-state", "SUCCEEDED");
    waitForText("job-aggregate", "45");
    assertThat(browser.findElements(By.cssSelector("#job-failures li"))).isEmpty();
    // The stream was read again for the new run: each item's latest result once, then `done`.
    waitFor()
        .until(
            d ->
                Boolean.TRUE.equals(
                    script(
                        "return stream !== null && stream !== window.firstRun && stream.done"
                            + " && stream.latency.count === 10")));
    waitForText("latency-count", "10");
  }

  @Test
  void the_cancel_button_cancels_a_running_job() {
    String id =
        http.submit(
            "{\"function\": {\"name\": \"gated\"}, \"items\": "
                + numbers(20)
                + ", \"maxConcurrency\": 2}");

    open("#/jobs/" + id);
    waitForText("job-state", "RUNNING");
    WebElement cancel = waitFor().until(ExpectedConditions.elementToBeClickable(By.id("cancel")));
    cancel.sendKeys(Keys.ENTER); // from the keyboard

    waitForText("job-state", "CANCELLED");
    assertThat(http.get("/v1/jobs/" + id).json().get("status").asText()).isEqualTo("CANCELLED");
    assertThat(browser.findElement(By.id("cancel")).isEnabled()).isFalse();
    screenshot("cancelled");
  }

  @Test
  void a_running_job_of_a_million_items_advances_on_a_page_of_few_elements() {
    String id =
        http.submit(
            "{\"function\": {\"name\": \"slow\"}, \"items\": "
                + numbers(1_000_000)
                + ", \"maxConcurrency\": 200}",
            Duration.ofMinutes(3));

    open("#/jobs/" + id);
    waitForText("job-state", "RUNNING");
    waitFor().until(d -> progressValue() > 0);
    long first = progressValue();
    assertThat(domNodes()).isLessThan(5_000);
    waitFor().until(d -> progressValue() > first);
    assertThat(domNodes()).isLessThan(5_000);
    assertThat(text("job-state")).isEqualTo("RUNNING");
    // The chart is fed by progress events: several readings, a rate above nothing.
    waitFor().until(d -> chartPoints() >= 5);
    waitFor().until(d -> !text("rate-now").equals("–") && !text("rate-now").startsWith("0"));
    assertThat(domNodes()).isLessThan(5_000);
    screenshot("million");

    // Leaving the page stops reading the stream.
    browser.findElement(By.linkText("Fanout")).click();
    waitFor().until(ExpectedConditions.visibilityOfElementLocated(By.id("jobs")));
    assertThat(script("return stream")).isNull();
    // Not cancelled: cancelling a million items keeps the store busy longer than closing it.
  }
}
