// Talking to the JSON API (/api/v1): signing in, sending the queue, downloading the zone's
// households and the materials with their rates. Only ever with a connection: callers check.

import * as store from "./store.js";
import { plural } from "./ui.js";

const API = "/api/v1";
const TIMEOUT_MS = 30000; // a slow 2G link still gets a batch through
const BATCH = 100; // the most one sync request may carry
const PAGE = 500;
const MAX_PAGES = 400;
export const REFRESH_EVERY_MS = 5 * 60 * 1000;

// One request; never throws for an HTTP status, only for no connection (or a time-out).
export async function api(method, path, { token, body } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  try {
    const response = await fetch(API + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      cache: "no-store",
    });
    const data = response.status === 204 ? null : await response.json().catch(() => null);
    return {
      status: response.status,
      ok: response.ok,
      data,
      retryAfter: Number(response.headers.get("Retry-After")) || 0,
    };
  } finally {
    clearTimeout(timer);
  }
}

export function errorMessage(answer) {
  const error = answer.data?.error;
  if (answer.status === 429) {
    const minutes = Math.max(1, Math.ceil(answer.retryAfter / 60));
    return `Too many tries. Wait ${plural(minutes, "minute")} and try again.`;
  }
  return error?.message || `The server answered ${answer.status}. Try again later.`;
}

// Only one sync at a time, across every tab of the app: an operation is never sent twice at
// once. Another tab's sync is waited for, and then finds nothing left to send. (A later resend
// of the same id is safe: the server answers "duplicate".)
let syncingHere = false;

async function exclusively(work) {
  if (navigator.locks) return navigator.locks.request("kolekt-sync", work);
  if (syncingHere) return { outcome: "busy" };
  syncingHere = true;
  try {
    return await work();
  } finally {
    syncingHere = false;
  }
}

// Send every waiting operation of the signed-in collector, in order, in batches.
// Outcome: "synced" | "signed-out" (401: everything stays queued) | "offline" | "error" | "busy".
export function syncQueue(auth) {
  return exclusively(async () => {
    const tally = { created: 0, duplicate: 0, refused: 0, retry: 0 };
    // Read inside the lock: what another tab sent a moment ago is no longer "queued".
    const waiting = (await store.ops()).filter((op) => op.state === "queued" && op.owner === auth.owner);
    for (let start = 0; start < waiting.length; start += BATCH) {
      const outcome = await sendBatch(auth, waiting.slice(start, start + BATCH), tally);
      if (outcome) return { ...outcome, tally };
    }
    // The time of the last exchange with the server, not of a check that found nothing to send.
    if (waiting.length) await store.set("lastSync", new Date().toISOString());
    await store.pruneSent();
    return { outcome: "synced", tally };
  });
}

// Returns nothing when the batch was answered, or the outcome that stops this sync.
async function sendBatch(auth, batch, tally) {
  let answer;
  try {
    answer = await api("POST", "/sync", {
      token: auth.token,
      body: { operations: batch.map((op) => op.payload) },
    });
  } catch {
    return { outcome: "offline", message: "No connection. Everything stays on the phone." };
  }
  if (answer.status === 401) return { outcome: "signed-out" };
  if (answer.status === 422 && batch.length > 1) {
    // The server could not read one of them: send them one by one so the others still go.
    for (const op of batch) {
      const outcome = await sendBatch(auth, [op], tally);
      if (outcome) return outcome;
    }
    return null;
  }
  if (answer.status === 422) {
    await applyResults(batch, [refusedBy(answer, batch[0])], tally);
    return null;
  }
  if (!answer.ok || !Array.isArray(answer.data?.results)) {
    return { outcome: "error", message: errorMessage(answer) };
  }
  await applyResults(batch, answer.data.results, tally);
  return null;
}

function refusedBy(answer, op) {
  const error = answer.data?.error ?? {};
  const fields = Object.entries(error.fields ?? {}).map(
    ([name, problems]) => `${name}: ${[].concat(problems).join(" ")}`,
  );
  const message = [error.message, ...fields].filter(Boolean).join(" ") || "The server could not read it.";
  return {
    index: 0,
    id: op.id,
    type: op.type,
    status: "refused",
    reason: { code: error.code ?? "invalid", message },
  };
}

async function applyResults(batch, results, tally) {
  const changed = [];
  const learned = [];
  results.forEach((result, position) => {
    const op = batch.find((candidate) => candidate.id === result.id) ?? batch[result.index ?? position];
    if (!op) return;
    const status = ["created", "duplicate", "refused"].includes(result.status) ? result.status : "retry";
    tally[status] += 1;
    op.result = result;
    op.status = status;
    op.tries = (op.tries ?? 0) + 1;
    // "retry" is a passing trouble at the server: the operation stays queued as it is.
    if (status !== "retry") {
      op.state = status === "refused" ? "refused" : "sent";
      op.doneAt = new Date().toISOString();
    }
    if (op.type === "household" && result.household?.code) learned.push(result.household);
    changed.push(op);
  });
  await store.putOps(changed);
  // A household registered at the door can be found by its new code straight away.
  for (const household of learned) await store.putHousehold(household);
}

// The zone's households (every page) and the materials with their rates, at most every few
// minutes unless forced (signing in). Outcome as for syncQueue.
export async function refreshReference(auth, { force = false } = {}) {
  const last = Date.parse((await store.get("referenceAt")) ?? "") || 0;
  if (!force && Date.now() - last < REFRESH_EVERY_MS) return { outcome: "fresh" };
  try {
    const households = [];
    let after = "";
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const query = `?limit=${PAGE}${after ? `&after=${encodeURIComponent(after)}` : ""}`;
      const answer = await api("GET", `/households${query}`, { token: auth.token });
      if (!answer.ok) return failed(answer);
      households.push(...answer.data.households);
      if (!answer.data.next) break;
      after = answer.data.next;
    }
    const materials = await api("GET", "/materials", { token: auth.token });
    if (!materials.ok) return failed(materials);
    // Households this phone registered stay findable even when the server put them elsewhere.
    const listed = new Set(households.map((household) => household.code));
    for (const op of await store.ops()) {
      const learned = op.type === "household" ? op.result?.household : null;
      if (learned?.code && !listed.has(learned.code)) households.push(learned);
    }
    await store.replaceHouseholds(households);
    await store.set("materials", materials.data);
    await store.set("referenceAt", new Date().toISOString());
    return { outcome: "refreshed" };
  } catch {
    return { outcome: "offline" };
  }
}

function failed(answer) {
  return answer.status === 401
    ? { outcome: "signed-out" }
    : { outcome: "error", message: errorMessage(answer) };
}
