package dev.fanout.server.internal.webhook;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sends one webhook delivery: a signed POST of a JSON body, accepted by any 2xx answer.
 *
 * <p>It makes one attempt; retrying with {@link Backoff}, and keeping pending deliveries across a
 * restart, is the caller's job. The {@link HttpClient} is shared by every delivery (connection
 * reuse) and should be the server's SSRF-guarded one, which re-checks addresses at connect time; it
 * must not follow redirects, since a redirect could lead past the URL check. Thread-safe.
 */
public final class WebhookSender {
  private final HttpClient client;
  private final WebhookSigner signer;
  private final Duration timeout;

  /**
   * Creates a sender.
   *
   * @param client the shared client (redirects not followed)
   * @param signer signs each delivery at the time it is sent
   * @param timeout how long one delivery may take, answer included; positive
   * @throws IllegalArgumentException when {@code timeout} is not positive
   */
  public WebhookSender(HttpClient client, WebhookSigner signer, Duration timeout) {
    this.client = Objects.requireNonNull(client, "client");
    this.signer = Objects.requireNonNull(signer, "signer");
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, got " + timeout);
    }
  }

  /**
   * Makes a client suited to webhooks: HTTP/1.1, no redirects, virtual threads. Share one across
   * deliveries so connections are reused; close it when the server stops. (Functions have a client
   * of their own, built for thousands of calls a second; a job's deliveries are far fewer.)
   *
   * @param connectTimeout how long connecting may take
   * @return the client
   */
  public static HttpClient newClient(Duration connectTimeout) {
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .followRedirects(HttpClient.Redirect.NEVER)
        .connectTimeout(connectTimeout)
        .executor(Executors.newVirtualThreadPerTaskExecutor())
        .build();
  }

  /**
   * POSTs one delivery, signed now, with {@code Content-Type: application/json}, {@value
   * WebhookPayloads#DELIVERY_HEADER} and {@value WebhookSigner#HEADER}.
   *
   * @param webhook where to send it, and the signing secret
   * @param deliveryId {@link WebhookPayloads#resultDeliveryId} or {@link
   *     WebhookPayloads#doneDeliveryId}
   * @param body the exact JSON bytes ({@link WebhookPayloads#toBytes})
   * @return the status answered, a 2xx
   * @throws DeliveryFailedException when the answer is not 2xx, or none came in time
   * @throws InterruptedException when the thread is interrupted while waiting (shutdown)
   */
  public int send(WebhookConfig webhook, String deliveryId, byte[] body)
      throws DeliveryFailedException, InterruptedException {
    Objects.requireNonNull(webhook, "webhook");
    Objects.requireNonNull(deliveryId, "deliveryId");
    Objects.requireNonNull(body, "body");
    URI url = webhook.url();
    HttpRequest request =
        HttpRequest.newBuilder(url)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header(WebhookPayloads.DELIVERY_HEADER, deliveryId)
            .header(WebhookSigner.HEADER, signer.sign(body, webhook.secret()))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build();
    String shown = WebhookConfig.redact(url);
    HttpResponse<Void> response;
    // sendAsync and a bounded wait, not send: the request timeout covers only the headers, and a
    // receiver that stalls its body would hold the delivery, and the server's shutdown, for ever.
    CompletableFuture<HttpResponse<Void>> call =
        client.sendAsync(request, HttpResponse.BodyHandlers.discarding());
    try {
      response = call.get(timeout.toNanos() * 2, TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      call.cancel(true);
      throw new DeliveryFailedException(
          "webhook " + shown + " did not finish answering delivery " + deliveryId, -1, e);
    } catch (InterruptedException e) {
      call.cancel(true);
      throw e;
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      String what =
          cause instanceof HttpTimeoutException
              ? " did not answer delivery " + deliveryId + " within " + timeout
              : " could not be reached for delivery " + deliveryId + ": " + cause;
      throw new DeliveryFailedException("webhook " + shown + what, -1, cause);
    }
    int status = response.statusCode();
    if (status < 200 || status > 299) {
      throw new DeliveryFailedException(
          "webhook " + shown + " answered " + status + " to delivery " + deliveryId, status, null);
    }
    return status;
  }
}
