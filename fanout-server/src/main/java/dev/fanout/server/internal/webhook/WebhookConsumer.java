package dev.fanout.server.internal.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.fanout.ItemResult;
import dev.fanout.JobFinishedListener;
import dev.fanout.JobId;
import dev.fanout.JobStatus;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * One job's webhook: the durable consumer the engine hands each stored result to, and the listener
 * it tells when the job is over.
 *
 * <p>Each call makes one signed delivery and returns only when the receiver answered 2xx. Anything
 * else throws, and the engine's delivery loop hands the same result over again after its backoff
 * ({@code FanOut.Builder.consumerRetry}), acknowledging in the store only what was accepted; so
 * deliveries are at least once, in completion ({@code seq}) order, survive a restart, and the final
 * {@code done} event comes after every result was accepted. Retrying in the loop rather than here
 * keeps one retry policy, and its waits, in the place that also survives restarts.
 *
 * <p>The bodies are built from the same views the API serves ({@code GET /results} and {@code GET
 * /v1/jobs/{id}}), looked up when sent, so a delivery and the API never disagree.
 */
public final class WebhookConsumer implements Consumer<ItemResult<JsonNode>>, JobFinishedListener {
  /** What the API shows of a job and of its results; implemented by the API. */
  public interface Views {
    /**
     * A stored result as {@code GET /v1/jobs/{id}/results} shows it.
     *
     * @param job the job
     * @param seq the result's sequence number
     * @return the view, or null when the job or result is gone (deleted)
     */
    ObjectNode result(JobId job, long seq);

    /**
     * A job as {@code GET /v1/jobs/{id}} shows it.
     *
     * @param job the job
     * @return the view, or null when the job is gone
     */
    JsonNode job(JobId job);
  }

  private final JobId job;
  private final WebhookConfig webhook;
  private final WebhookSender sender;
  private final Views views;

  /**
   * Creates the consumer of one job.
   *
   * @param job the job whose results it delivers
   * @param webhook where to, and the signing secret
   * @param sender makes each signed POST
   * @param views builds the bodies; it may throw while the API is not up yet, which fails the
   *     delivery so that it is retried
   */
  public WebhookConsumer(JobId job, WebhookConfig webhook, WebhookSender sender, Views views) {
    this.job = Objects.requireNonNull(job, "job");
    this.webhook = Objects.requireNonNull(webhook, "webhook");
    this.sender = Objects.requireNonNull(sender, "sender");
    this.views = Objects.requireNonNull(views, "views");
  }

  /**
   * Delivers one result.
   *
   * @param result the stored result, whose {@code seq} names the view to send
   * @throws IllegalStateException when the receiver did not accept it (the engine retries)
   */
  @Override
  public void accept(ItemResult<JsonNode> result) {
    ObjectNode view = views.result(job, result.seq());
    if (view == null) {
      return; // the job was deleted meanwhile: nothing is left to deliver
    }
    send(
        WebhookPayloads.resultDeliveryId(job.toString(), result.index()),
        WebhookPayloads.resultDelivery(job.toString(), view));
  }

  /**
   * Delivers the {@code done} event with the final job.
   *
   * @param status the final status (the body shows the API's view of the job instead, read now)
   * @throws IllegalStateException when the receiver did not accept it (the engine retries)
   */
  @Override
  public void onJobFinished(JobStatus status) {
    JsonNode view = views.job(job);
    if (view == null) {
      return;
    }
    long finished = status.finishedAt() == null ? 0 : status.finishedAt().toEpochMilli();
    send(
        WebhookPayloads.doneDeliveryId(job.toString(), finished),
        WebhookPayloads.doneDelivery(view));
  }

  private void send(String deliveryId, JsonNode body) {
    try {
      sender.send(webhook, deliveryId, WebhookPayloads.toBytes(body));
    } catch (DeliveryFailedException e) {
      throw new IllegalStateException(e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("delivery " + deliveryId + " was interrupted", e);
    }
  }

  @Override
  public String toString() {
    return "WebhookConsumer[job=" + job + ", " + webhook + "]";
  }
}
