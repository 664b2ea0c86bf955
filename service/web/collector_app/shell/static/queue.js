// The queue (needs attention, waiting, sent) and handing it to the phone's SMS app.

import * as store from "./store.js";
import { formatKg, logText, nationalDigits, newText, smsHref } from "./text.js";
import { $, armed, el, plural } from "./ui.js";

export function initQueue(app) {
  function householdLabel(household) {
    return household.code ? `${household.name} (${household.code})` : `${household.name} (new)`;
  }

  function linesLabel(op) {
    return op.payload.lines
      .map((line) => `${app.materialName(line.material)} ${formatKg(line.grams)} kg`)
      .join(", ");
  }

  // A language's name as the new household form offers it ("HA" -> "Hausa").
  function languageName(code) {
    const option = [...$("household-language").options].find((candidate) => candidate.value === code);
    return option?.textContent ?? code;
  }

  function describe(op) {
    if (op.type === "household") {
      const { phone, name, address, language } = op.household;
      const spoken = language && language !== "EN" ? languageName(language) : null;
      return {
        what: `New household: ${name}`,
        meta: [nationalDigits(phone), spoken, address].filter(Boolean).join(", "),
      };
    }
    const seq = op.payload.seq ? ` · #${op.payload.seq}` : "";
    return {
      what: householdLabel({ ...op.household, code: namedHousehold(op).code }),
      meta: [
        linesLabel(op),
        `about ${op.estimate} pts${seq}`,
        app.when(op.payload.occurred_at ?? op.createdAt),
      ].join(" · "),
    };
  }

  function item(op, ...extra) {
    const { what, meta } = describe(op);
    return el(
      "li",
      { dataset: { op: op.id } },
      el("p", { class: "what", text: what }),
      el("p", { class: "meta", text: meta }),
      ...extra,
    );
  }

  // What the server said about a sent operation.
  function outcome(op) {
    const result = op.result ?? {};
    const reference = result.reference ?? result.original?.reference;
    if (op.type === "household") {
      const code = result.household?.code ?? "";
      return op.status === "duplicate" ? `Already a member: ${code}` : `Registered: ${code}`;
    }
    if (op.status === "duplicate") {
      const channel = result.original?.channel;
      const by = channel ? ` (by ${channel === "sms" ? "SMS" : channel})` : "";
      return `Duplicate: already recorded as ${reference}${by}. Nothing new was credited.`;
    }
    return `Receipt ${reference}: ${result.points ?? op.estimate} points credited.`;
  }

  function refusedItem(op) {
    const reason = op.result?.reason?.message ?? "The hub refused it.";
    const fix = el("button", { type: "button", class: "small", text: "Fix", onclick: () => app.fix(op) });
    const remove = el("button", { type: "button", class: "small", text: "Delete" });
    remove.addEventListener("click", () => armed(remove, "Tap again to delete", () => deleteOp(op)));
    return item(op, el("p", { class: "reason", text: reason }), el("div", { class: "buttons" }, fix, remove));
  }

  function waitingItem(op) {
    const notes = [];
    if (op.smsAt) notes.push(el("span", { class: "tag", text: `Sent by SMS ${app.when(op.smsAt)}` }));
    if (op.status === "retry") {
      notes.push(
        el("p", {
          class: "meta",
          text: `Will try again: ${op.result?.reason?.message ?? "the hub was busy"}`,
        }),
      );
    }
    return item(op, ...notes);
  }

  function sentItem(op) {
    return item(op, el("p", { class: "ref", text: outcome(op) }));
  }

  async function deleteOp(op) {
    if (op.type === "household") {
      const naming = app.ops.filter(
        (other) => other.state !== "sent" && other.payload.household?.id === op.id,
      );
      if (naming.length) {
        app.notify(`First fix or delete the ${plural(naming.length, "pickup")} for this household.`, {
          bad: true,
        });
        return;
      }
    }
    await store.deleteOps([op.id]);
    await app.reload();
    app.notify("Deleted from this phone.");
  }

  function renderQueue() {
    const refused = app.refused();
    const waiting = app.waiting();
    const sent = app.ops
      .filter((op) => op.state === "sent" && app.mine(op))
      .sort((a, b) => (b.doneAt ?? "").localeCompare(a.doneAt ?? ""));
    const others = app.ops.filter((op) => op.state === "queued" && !app.mine(op)).length;
    $("queue-summary").textContent = `${waiting.length} waiting · last sync ${app.when(app.lastSync)}`;
    $("attention-box").hidden = refused.length === 0;
    $("attention-title").textContent = `Needs attention (${refused.length})`;
    $("attention").replaceChildren(...refused.map(refusedItem));
    $("waiting-title").textContent = `Waiting to send (${waiting.length})`;
    $("waiting").replaceChildren(...waiting.map(waitingItem));
    $("waiting-none").hidden = waiting.length > 0;
    $("others").hidden = others === 0;
    $("others").textContent =
      `${others} more belong to another collector; they are sent when that collector signs in.`;
    $("sent").replaceChildren(...sent.map(sentItem));
    $("sent-none").hidden = sent.length > 0;
  }

  // --- the SMS hand-off ---------------------------------------------------------------------------

  // The household a pickup names, by code once the server has given it one, else by phone.
  function namedHousehold(op) {
    if (op.household.code || !op.household.opId) return op.household;
    const registered = app.ops.find((other) => other.id === op.household.opId)?.result?.household;
    return registered?.code ? registered : op.household;
  }

  function textOf(op) {
    if (op.type === "household") {
      const { phone, name, address, language } = op.household;
      return newText(phone, name, address, language);
    }
    return logText(namedHousehold(op), op.payload.lines, op.payload.seq);
  }

  function renderSms() {
    const number = app.auth?.me?.programme?.sms_number ?? "";
    const waiting = app.waiting();
    $("sms-missing").hidden = Boolean(number);
    $("sms-none").hidden = waiting.length > 0;
    if (!number) {
      $("sms-list").replaceChildren();
      return;
    }
    $("sms-list").replaceChildren(
      ...waiting.map((op, index) => {
        const body = textOf(op);
        const link = el("a", {
          class: op.smsAt ? "button" : "button primary",
          href: smsHref(number, body),
          dataset: { op: op.id },
          text: `${op.smsAt ? "Text again" : "Text it"} (${index + 1} of ${waiting.length})`,
        });
        const sent = op.smsAt
          ? el("span", { class: "tag", text: `Sent by SMS ${app.when(op.smsAt)}` })
          : null;
        return el("li", {}, el("p", { class: "sms", text: body }), el("p", {}, sent), link);
      }),
    );
  }

  // The link opens the SMS app by itself; the item stays queued, marked as handed to SMS (the
  // later sync is answered "duplicate" for it, by its #seq). The list is redrawn a moment later,
  // once the browser has followed the link.
  async function handedToSms(event) {
    const link = event.target.closest("a[data-op]");
    if (!link) return;
    const op = app.ops.find((candidate) => candidate.id === link.dataset.op);
    if (!op) return;
    op.smsAt = new Date().toISOString();
    await store.putOps([op]);
    setTimeout(app.reload, 300);
  }

  $("sms-list").addEventListener("click", handedToSms);
  $("sms-open").addEventListener("click", () => app.show("sms"));
  $("sms-back").addEventListener("click", () => app.show("queue"));

  return { show: { queue: renderQueue, sms: renderSms }, update: { queue: renderQueue, sms: renderSms } };
}
