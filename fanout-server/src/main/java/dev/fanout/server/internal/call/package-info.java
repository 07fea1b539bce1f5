/**
 * Calling HTTP functions: the function config a job names ({@link
 * dev.fanout.server.internal.call.HttpFunctionConfig}), the SSRF guard on every URL the server
 * calls ({@link dev.fanout.server.internal.call.UrlGuard} at submit time, {@link
 * dev.fanout.server.internal.call.LinkLocalGuardResolverProvider} at connect time), one call per
 * attempt with classified failures ({@link dev.fanout.server.internal.call.HttpFunction}, {@link
 * dev.fanout.server.internal.call.CallException}), the gathering of concurrent attempts into batch
 * calls ({@link dev.fanout.server.internal.call.CallBatcher}), and per-job call shaping ({@link
 * dev.fanout.server.internal.call.CallLimiter}).
 *
 * <p>Internal: the server wires these into its routes; nothing here is API.
 */
package dev.fanout.server.internal.call;
