// The phone's own storage (IndexedDB): it survives closing the browser and restarting the phone.
//
//   kv          sign-in (token, me, phone), counters, last sync, materials
//   ops         the queue: every operation made on this phone, waiting, refused or sent
//   households  the zone's households, for searching with no connection

const NAME = "kolekt-collector";
const VERSION = 1;
const KEEP_SENT = 50; // sent operations kept to show their receipts; older ones are forgotten

let opening = null;

function request(idbRequest) {
  return new Promise((resolve, reject) => {
    idbRequest.onsuccess = () => resolve(idbRequest.result);
    idbRequest.onerror = () => reject(idbRequest.error);
  });
}

function database() {
  opening ??= new Promise((resolve, reject) => {
    const opened = indexedDB.open(NAME, VERSION);
    opened.onupgradeneeded = () => {
      const db = opened.result;
      db.createObjectStore("kv");
      db.createObjectStore("ops", { keyPath: "id" });
      db.createObjectStore("households", { keyPath: "code" });
    };
    opened.onsuccess = () => resolve(opened.result);
    opened.onerror = () => reject(opened.error);
  });
  return opening;
}

// One transaction: `work` may await only requests of this transaction (anything else would
// let it commit early); the promise settles once the transaction has committed.
async function transaction(stores, mode, work) {
  const tx = (await database()).transaction(stores, mode);
  const committed = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new Error("storage transaction aborted"));
  });
  const value = await work(tx);
  await committed;
  return value;
}

export function get(key) {
  return transaction(["kv"], "readonly", (tx) => request(tx.objectStore("kv").get(key)));
}

export function set(key, value) {
  return transaction(["kv"], "readwrite", (tx) => request(tx.objectStore("kv").put(value, key)));
}

export function remove(key) {
  return transaction(["kv"], "readwrite", (tx) => request(tx.objectStore("kv").delete(key)));
}

// Queue an operation. Its place in the queue, and a pickup's #seq, come from counters kept in
// the same transaction: two taps, two tabs or a restart can never hand out the same number twice.
// `order`: take the place of an operation it replaces (a fixed household stays ahead of the
// pickups that name it).
export function enqueue(op, seqBase, { order = null } = {}) {
  return transaction(["kv", "ops"], "readwrite", async (tx) => {
    const kv = tx.objectStore("kv");
    if (order == null) {
      order = ((await request(kv.get("opCounter"))) ?? 0) + 1;
      kv.put(order, "opCounter");
    }
    op.n = order;
    if (op.type === "pickup" && seqBase != null) {
      const counter = ((await request(kv.get("seqCounter"))) ?? 0) + 1;
      kv.put(counter, "seqCounter");
      op.payload.seq = seqBase + counter;
    }
    tx.objectStore("ops").put(op);
    return op;
  });
}

export async function ops() {
  const all = await transaction(["ops"], "readonly", (tx) => request(tx.objectStore("ops").getAll()));
  return all.sort((a, b) => a.n - b.n);
}

export function putOps(changed) {
  return transaction(["ops"], "readwrite", (tx) => {
    const store = tx.objectStore("ops");
    for (const op of changed) store.put(op);
  });
}

export function deleteOps(ids) {
  return transaction(["ops"], "readwrite", (tx) => {
    const store = tx.objectStore("ops");
    for (const id of ids) store.delete(id);
  });
}

// Forget the oldest sent operations beyond the few kept to show their receipts.
export async function pruneSent() {
  const sent = (await ops()).filter((op) => op.state === "sent");
  const old = sent.slice(0, Math.max(0, sent.length - KEEP_SENT));
  if (old.length) await deleteOps(old.map((op) => op.id));
}

export function households() {
  return transaction(["households"], "readonly", (tx) => request(tx.objectStore("households").getAll()));
}

// The zone's list as downloaded, replacing the old one in one go (never half of each).
export function replaceHouseholds(list) {
  return transaction(["households"], "readwrite", (tx) => {
    const store = tx.objectStore("households");
    store.clear();
    for (const household of list) if (household.code) store.put(household);
  });
}

export function putHousehold(household) {
  return transaction(["households"], "readwrite", (tx) => {
    if (household.code) tx.objectStore("households").put(household);
  });
}
