// The collector app: start-up, signing in and out, the header, the tabs, and when to sync.
// The pickup and household forms are in pickup.js; the queue and the SMS hand-off in queue.js;
// a household's cash-out account in bank.js.

import { initBank } from "./bank.js";
import { initPickup } from "./pickup.js";
import { initQueue } from "./queue.js";
import * as store from "./store.js";
import { api, errorMessage, refreshReference, syncQueue } from "./sync.js";
import { phoneKey } from "./text.js";
import { $, armed, plural, showText, when } from "./ui.js";

const SYNC_EVERY_MS = 60 * 1000;
const TAB_OF = { confirm: "log", bank: "log", sms: "queue" };

const app = {
  auth: null, // {token, me, phone, owner}; the token is null once the server has signed us out
  households: [],
  materials: [],
  materialsAsOf: null,
  ops: [],
  lastSync: null,
  view: null,
  views: {}, // drawn afresh when a view is opened
  updates: {}, // redrawn while it is open after the data changed (never a field being typed in)
  syncing: false,
  syncAgain: false, // asked for while a sync ran: run once more when it ends
};

// --- what the views share ---------------------------------------------------------------------

app.timezone = () => app.auth?.me?.programme?.timezone ?? app.lastTimezone;
app.when = (iso) => when(iso, app.timezone());
// Signed out, everything on the phone counts as waiting; signed in, only the collector's own.
app.mine = (op) => !app.auth || op.owner === app.auth.owner;
app.waiting = () => app.ops.filter((op) => op.state === "queued" && app.mine(op));
app.refused = () => app.ops.filter((op) => op.state === "refused" && app.mine(op));
app.rates = () => Object.fromEntries(app.materials.map((m) => [m.code, m.points_per_kg ?? 0]));
app.materialName = (code) => app.materials.find((m) => m.code === code)?.name ?? code;

app.show = (view) => {
  if (!app.auth?.me) view = "signin";
  app.view = view;
  for (const section of document.querySelectorAll("main > section.view")) {
    section.hidden = section.id !== `view-${view}`;
  }
  $("tabs").hidden = view === "signin";
  const tab = TAB_OF[view] ?? view;
  for (const button of document.querySelectorAll("#tabs button")) {
    if (button.dataset.view === tab) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  app.views[view]?.();
  window.scrollTo(0, 0);
};

app.notify = (text, { bad = false, action = null, label = "" } = {}) => {
  $("notice").hidden = !text;
  $("notice").classList.toggle("bad", bad);
  $("notice-text").textContent = text ?? "";
  const button = $("notice-action");
  button.hidden = !action;
  button.textContent = label;
  button.onclick = action;
};

// Read everything again from the phone's storage, then draw what is on screen.
app.reload = async () => {
  const [ops, households, materials, lastSync, timezone] = await Promise.all([
    store.ops(),
    store.households(),
    store.get("materials"),
    store.get("lastSync"),
    store.get("timezone"),
  ]);
  app.lastTimezone = timezone;
  app.ops = ops;
  app.households = households;
  app.materials = materials?.materials ?? [];
  app.materialsAsOf = materials?.as_of ?? null;
  app.lastSync = lastSync ?? null;
  app.render();
};

app.render = () => {
  const me = app.auth?.me;
  $("programme").textContent = me?.programme?.name || "Kolekt";
  $("who").textContent = me?.name ?? "";
  renderNet();
  const waiting = app.waiting().length;
  const refused = app.refused().length;
  $("waiting-count").textContent = String(waiting);
  $("last-sync").textContent = app.when(app.lastSync);
  $("tab-count").textContent = String(waiting + refused);
  $("tab-count").classList.toggle("zero", waiting + refused === 0);
  $("sync-top").disabled = app.syncing;
  $("sync").disabled = app.syncing;
  $("sync").textContent = app.syncing ? "Syncing…" : "Sync now";
  if (app.view) app.updates[app.view]?.();
};

app.enqueue = async (op, options) => {
  await store.enqueue(op, app.auth?.me?.seq_base, options);
  await app.reload();
  syncSoon();
};
app.syncSoon = () => syncSoon();

function renderNet() {
  const online = navigator.onLine;
  const signedOut = app.auth?.me && !app.auth.token;
  $("net").textContent = signedOut ? "Signed out" : online ? "Online" : "Offline";
  $("net").classList.toggle("offline", !online || Boolean(signedOut));
}

// --- syncing ----------------------------------------------------------------------------------

function syncSoon() {
  if (!navigator.onLine || !app.auth?.token) return;
  if (app.syncing) app.syncAgain = true;
  else app.sync();
}

app.sync = async ({ manual = false } = {}) => {
  if (!app.auth?.token) {
    if (manual) askToSignIn();
    return;
  }
  if (!navigator.onLine) {
    if (manual) app.notify("No connection now. Everything stays on the phone until there is.", { bad: true });
    return;
  }
  if (app.syncing) return;
  app.syncing = true;
  app.render();
  try {
    const sent = await syncQueue(app.auth);
    if (sent.outcome === "signed-out") return signedOutByServer();
    let refreshed = { outcome: "skipped" };
    // A refusal often means the lists changed (a household suspended, a rate ended): refresh now.
    const force = sent.tally?.refused > 0;
    if (sent.outcome === "synced") refreshed = await refreshReference(app.auth, { force });
    if (refreshed.outcome === "signed-out") return signedOutByServer();
    if (refreshed.outcome === "refreshed") await store.set("lastSync", new Date().toISOString());
    report(sent, refreshed, manual);
  } catch (error) {
    // The phone's storage failed (full, or cleared under us): say so, and try again later.
    app.notify(`Sync stopped: ${error.message}`, { bad: true });
  } finally {
    app.syncing = false;
    await app.reload();
  }
  // Something was queued while that sync ran (it read the queue before): send it now.
  if (app.syncAgain) {
    app.syncAgain = false;
    syncSoon();
  }
};

function report(sent, refreshed, manual) {
  const { created = 0, duplicate = 0, refused = 0, retry = 0 } = sent.tally ?? {};
  const parts = [];
  if (created) parts.push(`${created} recorded`);
  if (duplicate) parts.push(`${duplicate} already recorded`);
  if (refused) parts.push(`${plural(refused, "needs", "need")} attention`);
  if (retry) parts.push(`${retry} to try again later`);
  if (sent.outcome === "offline" || sent.outcome === "error") {
    if (manual || parts.length) app.notify(sent.message, { bad: true });
  } else if (refreshed.outcome === "error" && manual) {
    app.notify(refreshed.message, { bad: true });
  } else if (parts.length) {
    app.notify(`Synced: ${parts.join(", ")}.`, { bad: refused > 0 });
  } else if (manual && sent.outcome !== "busy") {
    app.notify("Synced. Nothing was waiting.");
  }
}

// The server no longer takes the token (expired, revoked, new PIN): nothing queued is lost.
app.signedOut = () => signedOutByServer();
async function signedOutByServer() {
  app.auth = { ...app.auth, token: null };
  await store.set("auth", app.auth);
  const waiting = app.waiting().length;
  const what = waiting ? `the ${plural(waiting, "waiting item")}` : "your pickups";
  app.notify(`Sign in again to send ${what}. Everything stays on the phone.`, {
    bad: true,
    action: askToSignIn,
    label: "Sign in",
  });
  renderNet();
}

function waitingOnThePhone() {
  const waiting = app.waiting().length;
  return waiting
    ? `${plural(waiting, "item is", "items are")} waiting on this phone. Sign in to send them.`
    : "";
}

function askToSignIn() {
  app.notify("");
  showText($("signin-why"), waitingOnThePhone());
  if (app.auth?.phone) $("signin-phone").value = app.auth.phone;
  showSignIn();
}

function showSignIn() {
  app.view = "signin";
  for (const section of document.querySelectorAll("main > section.view")) {
    section.hidden = section.id !== "view-signin";
  }
  $("tabs").hidden = !app.auth?.me;
  $("signin-pin").value = "";
}

// --- signing in and out -----------------------------------------------------------------------

async function signIn(event) {
  event.preventDefault();
  const phone = $("signin-phone").value.trim();
  const pin = $("signin-pin").value.trim();
  const error = $("signin-error");
  if (!phone || !pin) return showText(error, "Type your phone number and your PIN.");
  if (!navigator.onLine)
    return showText(error, "No connection. Signing in needs data once; then the app works without.");
  showText(error, "");
  let answer;
  try {
    answer = await api("POST", "/auth/token", { body: { phone, pin, label: "Collector app" } });
  } catch {
    return showText(error, "No connection. Try again when there is data.");
  }
  if (answer.status === 401) return showText(error, "Wrong phone number or PIN.");
  if (!answer.ok) return showText(error, errorMessage(answer));
  if (answer.data?.me?.kind !== "collector")
    return showText(error, "This app is for collectors. Operators use the dashboard.");
  $("signin-pin").value = "";
  showText($("signin-why"), "");
  const before = app.auth?.owner;
  app.auth = { token: answer.data.token, me: answer.data.me, phone, owner: phoneKey(phone) };
  await store.set("auth", app.auth);
  await store.set("timezone", answer.data.me.programme?.timezone);
  // Ask the browser to keep the queue even when the phone runs short of space.
  navigator.storage?.persist?.().catch(() => {});
  app.notify("Signed in. Downloading the households and rates…");
  app.show("log");
  const refreshed = await refreshReference(app.auth, { force: true });
  await app.reload();
  const others = app.ops.filter((op) => op.state === "queued" && !app.mine(op)).length;
  if (refreshed.outcome !== "refreshed") {
    app.notify("Signed in, but the households and rates could not be downloaded yet. Sync to try again.", {
      bad: true,
    });
  } else if (others && before !== app.auth.owner) {
    const whose = plural(others, "item on this phone belongs", "items on this phone belong");
    app.notify(`${whose} to another collector: sent when that collector signs in.`);
  } else {
    app.notify(
      `Ready: ${app.households.length} households and ${app.materials.length} materials on this phone.`,
    );
  }
  syncSoon();
}

function signOut() {
  const waiting = app.waiting().length + app.refused().length;
  const button = $("signout");
  if (waiting && !button.dataset.armed) {
    const what = plural(waiting, "item is", "items are");
    showText(
      $("signout-warning"),
      `${what} not sent yet. They stay on this phone and are sent after you sign in again.`,
    );
  }
  armed(button, "Tap again to sign out", async () => {
    const token = app.auth?.token;
    if (token && navigator.onLine) {
      // Revoked at the server when there is data; without, the token is forgotten here anyway.
      await api("DELETE", "/auth/token", { token }).catch(() => {});
    }
    await store.remove("auth");
    app.auth = null;
    showText($("signout-warning"), "");
    app.notify("Signed out. Anything waiting stays on this phone.");
    showText($("signin-why"), waitingOnThePhone());
    app.show("signin");
    app.render();
  });
}

function renderAccount() {
  const me = app.auth?.me ?? {};
  $("account-name").textContent = me.name ?? "";
  $("account-zone").textContent = me.zone ? `${me.zone.name} (${me.zone.days})` : "none";
  $("account-households").textContent = String(app.households.length);
  $("account-rates-when").textContent = app.materialsAsOf
    ? app.when(app.materialsAsOf)
    : "not downloaded yet";
  $("account-rates").replaceChildren(
    ...app.materials.map((m) => {
      const item = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = m.name;
      const rate = document.createElement("span");
      rate.textContent = m.points_per_kg == null ? "no rate" : `${m.points_per_kg} pts/kg`;
      item.append(name, rate);
      return item;
    }),
  );
}

async function refreshLists() {
  if (!app.auth?.token) return askToSignIn();
  if (!navigator.onLine)
    return app.notify("No connection now: the lists on the phone stay as they are.", { bad: true });
  const refreshed = await refreshReference(app.auth, { force: true });
  if (refreshed.outcome === "signed-out") return signedOutByServer();
  if (refreshed.outcome !== "refreshed")
    return app.notify(refreshed.message ?? "Could not download the lists.", { bad: true });
  await store.set("lastSync", new Date().toISOString());
  await app.reload();
  app.notify(`Up to date: ${app.households.length} households, ${app.materials.length} materials.`);
}

// --- start ------------------------------------------------------------------------------------

function registerWorker() {
  if (!("serviceWorker" in navigator)) return;
  const hadController = Boolean(navigator.serviceWorker.controller);
  navigator.serviceWorker.register("/app/sw.js", { scope: "/app/" }).catch(() => {});
  navigator.serviceWorker.ready.then(() => {
    document.documentElement.dataset.offline = "ready";
  });
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    document.documentElement.dataset.offline = "ready";
    // A new version took over: offer to reload rather than lose what is being typed.
    if (hadController)
      app.notify("A new version of the app is ready.", { action: () => location.reload(), label: "Reload" });
  });
}

async function start() {
  registerWorker();
  const pickup = initPickup(app);
  const queue = initQueue(app);
  const bank = initBank(app);
  app.views = { account: renderAccount, ...pickup.show, ...queue.show, ...bank.show };
  app.updates = { account: renderAccount, ...pickup.update, ...queue.update, ...bank.update };
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", signOut);
  $("refresh").addEventListener("click", refreshLists);
  $("sync").addEventListener("click", () => app.sync({ manual: true }));
  $("sync-top").addEventListener("click", () => app.sync({ manual: true }));
  for (const button of document.querySelectorAll("#tabs button")) {
    button.addEventListener("click", () => app.show(button.dataset.view));
  }
  window.addEventListener("online", () => {
    renderNet();
    syncSoon();
  });
  window.addEventListener("offline", renderNet);
  document.addEventListener("visibilitychange", () => document.hidden || syncSoon());
  setInterval(syncSoon, SYNC_EVERY_MS);

  app.auth = (await store.get("auth")) ?? null;
  await app.reload();
  app.show(app.auth?.me ? "log" : "signin");
  if (app.auth?.me && !app.auth.token) signedOutByServer();
  document.documentElement.dataset.ready = "1";
  syncSoon();
}

start().catch((error) => {
  app.notify(`The app could not start: ${error.message}`, { bad: true });
  throw error;
});
