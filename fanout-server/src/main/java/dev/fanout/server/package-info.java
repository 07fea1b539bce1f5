/**
 * The Fanout HTTP service: submit fan-out jobs over HTTP, answered with an ID at once, and watch or
 * consume their results as they complete (pull, server-sent events, webhooks).
 */
package dev.fanout.server;
