// The Fanout dashboard: plain JavaScript over the v1 API, nothing fetched from elsewhere.
// It renders counts and pages, never one element per item, so a job of any size stays cheap.
"use strict";

const TOKEN_KEY = "fanout.token";
const REFRESH_MS = 1000;
const CLUSTER_REFRESH_MS = 3000;
let timer = null;
let clusterShownAt = 0;

function $(id) {
  return document.getElementById(id);
}

function say(text) {
  $("status").textContent = text;
}

// The token lives in sessionStorage: kept for this tab, never put in a URL.
function headersFor(accept) {
  const headers = { Accept: accept };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    headers.Authorization = "Bearer " + token;
  }
  return headers;
}

async function api(method, path) {
  const response = await fetch(path, { method, headers: headersFor("application/json") });
  if (response.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    showOnly("login");
    throw new Error("the server needs a token");
  }
  const body = await response.json();
  if (!response.ok) {
    throw new Error(body.error ? body.error.code + ": " + body.error.message : response.statusText);
  }
  return body;
}

function showOnly(id) {
  for (const section of ["login", "jobs", "job"]) {
    $(section).hidden = section !== id;
  }
}

function settled(job) {
  return job.succeeded + job.failed + job.cancelled;
}

function rate(job) {
  if (!job.startedAt) {
    return "";
  }
  const end = job.finishedAt ? Date.parse(job.finishedAt) : Date.now();
  const seconds = Math.max((end - Date.parse(job.startedAt)) / 1000, 0.001);
  return (settled(job) / seconds).toFixed(1) + "/s";
}

function age(job) {
  const seconds = Math.round((Date.now() - Date.parse(job.createdAt)) / 1000);
  if (seconds < 120) {
    return seconds + " s";
  }
  return seconds < 7200 ? Math.round(seconds / 60) + " min" : Math.round(seconds / 3600) + " h";
}

function progressOf(job) {
  const bar = document.createElement("progress");
  bar.max = job.total || 1;
  bar.value = settled(job);
  bar.textContent = settled(job) + " of " + (job.total ?? "?");
  bar.setAttribute("aria-label", settled(job) + " of " + (job.total ?? "?") + " settled");
  return bar;
}

function cell(row, content) {
  const td = document.createElement("td");
  if (content instanceof Node) {
    td.appendChild(content);
  } else {
    td.textContent = content;
  }
  row.appendChild(td);
  return td;
}

// Latency percentiles in constant memory: counts in buckets whose bounds grow by 10 % each, so a
// percentile is within 10 % of the truth however many results stream past; no result is kept.
class LatencyHistogram {
  static GROWTH = 1.1;
  static BUCKETS = 200; // past 1.1^198 ms (about 150 days) everything shares the last bucket

  constructor() {
    this.counts = new Uint32Array(LatencyHistogram.BUCKETS);
    this.count = 0;
    this.max = 0;
  }

  // Bucket 0 holds 0 ms; bucket i > 0 holds [1.1^(i-1), 1.1^i) ms.
  add(ms) {
    if (!(ms >= 0)) {
      return;
    }
    const i = ms < 1 ? 0 : 1 + Math.floor(Math.log(ms) / Math.log(LatencyHistogram.GROWTH));
    this.counts[Math.min(i, LatencyHistogram.BUCKETS - 1)]++;
    this.count++;
    this.max = Math.max(this.max, ms);
  }

  // The upper bound of the bucket holding the p-th fraction of results (never above the maximum).
  percentile(p) {
    if (this.count === 0) {
      return null;
    }
    const rank = Math.max(1, Math.ceil(p * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) {
        return i === 0 ? 0 : Math.min(Math.pow(LatencyHistogram.GROWTH, i), this.max);
      }
    }
    return this.max;
  }
}

// The last RATE_POINTS throughputs, one per progress event: a bounded ring, drawn as one polyline.
const RATE_POINTS = 120;

class Throughput {
  constructor() {
    this.rates = [];
    this.last = null;
  }

  // Progress events come at most four times a second; the rate is settled items per second since
  // the previous one.
  add(settledNow, atMs) {
    if (this.last !== null && atMs > this.last.at) {
      const rate = Math.max(0, ((settledNow - this.last.settled) * 1000) / (atMs - this.last.at));
      this.rates.push(rate);
      if (this.rates.length > RATE_POINTS) {
        this.rates.shift();
      }
    }
    this.last = { settled: settledNow, at: atMs };
  }
}

// One job's event stream, read with fetch so the Authorization header goes with it (EventSource
// cannot send one). It stops at `done`, when the page shows something else, or when the tab closes.
let stream = null;

function stopStream() {
  if (stream) {
    stream.controller.abort();
    stream = null;
  }
}

function startStream(id) {
  stopStream();
  const current = {
    id,
    controller: new AbortController(),
    latency: new LatencyHistogram(),
    throughput: new Throughput(),
    lastSeq: null,
    done: false,
  };
  stream = current;
  drawLive(current);
  readStream(current);
}

async function readStream(s) {
  while (!s.done && stream === s) {
    const headers = headersFor("text/event-stream");
    if (s.lastSeq !== null) {
      headers["Last-Event-ID"] = String(s.lastSeq); // resumes without losing or repeating a result
    }
    try {
      const response = await fetch("/v1/jobs/" + encodeURIComponent(s.id) + "/events",
        { headers, signal: s.controller.signal });
      if (!response.ok) {
        // The page's own read reports why; forgetting the stream lets the next read start it again
        // (after a new token, say).
        if (stream === s) {
          stream = null;
        }
        return;
      }
      await readEvents(response.body, s);
    } catch (e) {
      if (s.controller.signal.aborted) {
        return;
      }
    }
    if (!s.done && stream === s) {
      await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
    }
  }
}

async function readEvents(body, s) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      return;
    }
    buffer += value.replace(/\r\n?/g, "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      onEvent(block, s);
      if (s.done) {
        reader.cancel();
        s.controller.abort();
        return;
      }
    }
  }
}

function onEvent(block, s) {
  let name = "message";
  let data = "";
  let id = null;
  for (const line of block.split("\n")) {
    const colon = line.indexOf(":");
    if (colon === 0) {
      continue; // a comment: the stream's greeting or a keep-alive
    }
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") {
      name = value;
    } else if (field === "data") {
      data += (data ? "\n" : "") + value;
    } else if (field === "id") {
      id = value;
    }
  }
  if (id !== null) {
    s.lastSeq = id;
  }
  if (name === "result") {
    s.latency.add(JSON.parse(data).durationMs);
  } else if (name === "progress") {
    const counts = JSON.parse(data);
    s.throughput.add(settled(counts), performance.now());
    drawLive(s);
    if (counts.id === s.id) {
      showProgress(counts);
      showCounts(counts);
    }
  } else if (name === "done") {
    s.done = true;
    drawLive(s);
    refresh();
  }
}

function formatMs(ms) {
  if (ms === null) {
    return "–";
  }
  return (ms < 10 ? ms.toFixed(1) : Math.round(ms).toString()) + " ms";
}

function formatRate(rate) {
  return (rate < 10 ? rate.toFixed(1) : Math.round(rate).toString()) + "/s";
}

// Draws the chart as one polyline in a fixed viewBox, and says the same in words for screen
// readers: the page holds the same few elements however long the job runs.
function drawLive(s) {
  const rates = s.throughput.rates;
  const peak = rates.reduce((a, b) => Math.max(a, b), 0);
  const width = 600;
  const height = 120;
  const step = width / (RATE_POINTS - 1);
  const points = rates.map((rate, i) => {
    const x = (RATE_POINTS - rates.length + i) * step;
    const y = peak > 0 ? height - (rate / peak) * (height - 4) : height;
    return x.toFixed(1) + "," + y.toFixed(1);
  });
  $("rate-line").setAttribute("points", points.join(" "));
  const now = rates.length ? rates[rates.length - 1] : null;
  $("rate-now").textContent = now === null ? "–" : formatRate(now);
  $("rate-peak").textContent = rates.length ? formatRate(peak) : "–";
  $("rate-summary").textContent = rates.length
    ? "Throughput, last " + rates.length + " readings: now " + formatRate(now) + ", peak " +
      formatRate(peak) + "."
    : "Throughput: no readings yet.";
  const h = s.latency;
  $("latency-count").textContent = String(h.count);
  $("latency-p50").textContent = formatMs(h.percentile(0.5));
  $("latency-p90").textContent = formatMs(h.percentile(0.9));
  $("latency-p99").textContent = formatMs(h.percentile(0.99));
  $("latency-max").textContent = h.count ? formatMs(h.max) : "–";
}

const COUNT_KEYS = ["total", "pending", "running", "succeeded", "failed", "cancelled", "retries",
                    "maxConcurrency", "createdAt", "startedAt", "finishedAt"];

// Fills the counts in place, so a progress event (which has some of them) and a full read agree.
function showCounts(job) {
  const list = $("job-counts");
  if (list.children.length === 0) {
    for (const key of COUNT_KEYS) {
      const dt = document.createElement("dt");
      dt.textContent = key;
      const dd = document.createElement("dd");
      dd.id = "count-" + key;
      list.append(dt, dd);
    }
  }
  for (const key of COUNT_KEYS) {
    if (key in job) {
      $("count-" + key).textContent = job[key] ?? "";
    }
  }
}

// A progress event has the counts but not the start time: it keeps the rate the last read showed.
let jobRate = "";

function showProgress(job) {
  if ("startedAt" in job) {
    jobRate = rate(job);
  }
  const total = job.total || 0;
  $("job-progress").max = total || 1;
  $("job-progress").value = settled(job);
  $("job-percent").textContent =
    settled(job) + " of " + (job.total ?? "?") + " settled" +
    (total ? " (" + Math.floor((100 * settled(job)) / total) + " %)" : "") +
    (jobRate ? ", " + jobRate : "");
}

async function showJobs() {
  stopStream();
  const page = await api("GET", "/v1/jobs?limit=50");
  const rows = document.createDocumentFragment();
  for (const job of page.jobs) {
    const row = document.createElement("tr");
    const link = document.createElement("a");
    link.href = "#/jobs/" + job.id;
    link.textContent = job.id;
    cell(row, link);
    cell(row, job.status).className = job.status;
    const progress = cell(row, progressOf(job));
    progress.append(" " + settled(job) + " / " + (job.total ?? "?"));
    cell(row, String(job.failed));
    cell(row, rate(job));
    cell(row, age(job));
    rows.appendChild(row);
  }
  $("job-rows").replaceChildren(rows);
  await showCluster();
  showOnly("jobs");
  say(page.jobs.length === 0 ? "No jobs yet." : "");
}

function ago(time) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(time)) / 1000));
  if (seconds < 120) {
    return seconds + " s ago";
  }
  return seconds < 7200 ? Math.round(seconds / 60) + " min ago" : Math.round(seconds / 3600) + " h ago";
}

// The nodes change slowly: read them every few seconds, not on every refresh of the jobs.
async function showCluster() {
  if (Date.now() - clusterShownAt < CLUSTER_REFRESH_MS) {
    return;
  }
  const cluster = await api("GET", "/v1/cluster");
  clusterShownAt = Date.now();
  const rows = document.createDocumentFragment();
  for (const node of cluster.nodes) {
    const row = document.createElement("tr");
    cell(row, node.self ? node.id + " (this server)" : node.id);
    cell(row, node.host);
    cell(row, node.state).className = "node-" + node.state;
    cell(row, node.running + " / " + node.concurrency);
    cell(row, ago(node.lastSeen));
    cell(row, node.version);
    rows.appendChild(row);
  }
  if (cluster.nodes.length === 0) {
    const row = document.createElement("tr");
    cell(row, "No node has reported yet.").colSpan = 6;
    rows.appendChild(row);
  }
  $("node-rows").replaceChildren(rows);
  $("cluster-lease").textContent = "a node not seen for " + cluster.leaseSeconds +
    " s is lost, and its items run on the others.";
}

async function showJob(id) {
  const job = await api("GET", "/v1/jobs/" + encodeURIComponent(id));
  if (!shows(id)) {
    return; // the page moved on while the job was read: starting its stream now would leak it
  }
  if (!stream || stream.id !== job.id) {
    startStream(job.id);
  }
  $("job-id").textContent = job.id;
  $("job-state").textContent = job.status;
  $("job-state").className = job.status;
  $("job-error").textContent = job.error || "";
  showProgress(job);
  showCounts(job);
  const final = ["SUCCEEDED", "FAILED", "CANCELLED"].includes(job.status);
  $("cancel").disabled = final;
  $("retry").disabled = !final || job.status === "CANCELLED" || job.failed === 0;
  $("job-aggregate").textContent = final ? JSON.stringify(job.aggregate, null, 2) : "(when the job is final)";
  // The first page of failures only: a job may fail a million items.
  const failures = await api("GET", "/v1/jobs/" + encodeURIComponent(id) + "/results?status=FAILED&limit=20");
  const items = document.createDocumentFragment();
  for (const r of failures.results) {
    const li = document.createElement("li");
    li.textContent = "item " + r.index + ": " + r.error.code + ": " + (r.error.message || "") +
      " (" + r.attempts + " attempt" + (r.attempts === 1 ? "" : "s") + ")";
    items.appendChild(li);
  }
  $("job-failures").replaceChildren(items);
  showOnly("job");
  say("");
}

// Whether the page still shows the job: a read of it may end after a click elsewhere.
function shows(id) {
  const match = location.hash.match(/^#\/jobs\/([^/]+)$/);
  return match !== null && decodeURIComponent(match[1]) === id;
}

async function refresh() {
  clearTimeout(timer);
  const match = location.hash.match(/^#\/jobs\/([^/]+)$/);
  try {
    if (match) {
      await showJob(decodeURIComponent(match[1]));
    } else {
      await showJobs();
    }
  } catch (e) {
    say(e.message);
  }
  if (!$("login").hidden) {
    return; // waits for the token
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

async function act(action) {
  const match = location.hash.match(/^#\/jobs\/([^/]+)$/);
  if (!match) {
    return;
  }
  try {
    await api("POST", "/v1/jobs/" + encodeURIComponent(decodeURIComponent(match[1])) + "/" + action);
    if (action === "retry-failed") {
      stopStream(); // the retried items make a new run with a new `done`: read the stream again
    }
  } catch (e) {
    say(e.message);
  }
  refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value);
    $("token").value = "";
    refresh();
  });
  $("cancel").addEventListener("click", () => act("cancel"));
  $("retry").addEventListener("click", () => act("retry-failed"));
  window.addEventListener("hashchange", refresh);
  window.addEventListener("pagehide", stopStream);
  refresh();
});
