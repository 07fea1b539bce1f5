// The Fanout dashboard: plain JavaScript over the v1 API, nothing fetched from elsewhere.
// It renders counts and pages, never one element per item, so a job of any size stays cheap.
"use strict";

const TOKEN_KEY = "fanout.token";
const REFRESH_MS = 1000;
let timer = null;

function $(id) {
  return document.getElementById(id);
}

function say(text) {
  $("status").textContent = text;
}

// The token lives in sessionStorage: kept for this tab, never put in a URL.
async function api(method, path) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) {
    headers.Authorization = "Bearer " + token;
  }
  const response = await fetch(path, { method, headers });
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

async function showJobs() {
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
  showOnly("jobs");
  say(page.jobs.length === 0 ? "No jobs yet." : "");
}

async function showJob(id) {
  const job = await api("GET", "/v1/jobs/" + encodeURIComponent(id));
  $("job-id").textContent = job.id;
  $("job-state").textContent = job.status;
  $("job-state").className = job.status;
  $("job-error").textContent = job.error || "";
  const total = job.total || 0;
  $("job-progress").max = total || 1;
  $("job-progress").value = settled(job);
  $("job-percent").textContent =
    settled(job) + " of " + (job.total ?? "?") + " settled" +
    (total ? " (" + Math.floor((100 * settled(job)) / total) + " %)" : "") +
    (rate(job) ? ", " + rate(job) : "");
  const counts = document.createDocumentFragment();
  for (const key of ["total", "pending", "running", "succeeded", "failed", "cancelled", "retries",
                     "maxConcurrency", "createdAt", "startedAt", "finishedAt"]) {
    const dt = document.createElement("dt");
    dt.textContent = key;
    const dd = document.createElement("dd");
    dd.textContent = job[key] ?? "";
    counts.append(dt, dd);
  }
  $("job-counts").replaceChildren(counts);
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
  refresh();
});
