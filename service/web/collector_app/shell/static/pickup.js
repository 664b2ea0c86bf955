// Logging a pickup at the door (find the household, tap materials, type kg, confirm) and
// registering a new household, both with or without a connection.

import * as store from "./store.js";
import {
  MAX_LINES,
  formatKg,
  looksLikePhone,
  nationalDigits,
  parseKg,
  phoneKey,
  pointsFor,
  pointsOf,
  searchHouseholds,
} from "./text.js";
import { $, el, showText, uuid } from "./ui.js";

export function initPickup(app) {
  // What is being logged: the household, one line per material, and, when fixing a refused
  // pickup, the operation it replaces (and when that pickup happened).
  let draft = emptyDraft();
  let fixingHousehold = null;

  // The household being logged, for the cash-out account screen (bank.js).
  app.chosenHousehold = () => draft.household;

  function emptyDraft() {
    return { household: null, lines: [], replaces: null, occurredAt: null };
  }

  // Households this phone registered and the server has not answered for yet are findable too
  // (not one it refused: that one is fixed first, in the queue).
  function candidates() {
    const pending = app.ops
      .filter((op) => op.type === "household" && op.state === "queued" && app.mine(op))
      .map((op) => ({ ...op.household, code: null, status: "new", opId: op.id }));
    return [...pending, ...app.households];
  }

  // --- finding the household --------------------------------------------------------------------

  function renderFound() {
    const typed = $("find").value;
    const found = searchHouseholds(candidates(), typed);
    $("found").replaceChildren(...found.map(choiceItem));
    $("found-none").hidden = typed.trim().length < 2 || found.length > 0;
    $("households-empty").hidden = app.households.length > 0;
  }

  function choiceItem(household) {
    const detail = [household.code, nationalDigits(household.phone), household.address]
      .filter(Boolean)
      .join(" · ");
    const note =
      household.status === "suspended"
        ? " (suspended: cannot be credited)"
        : household.status === "new"
          ? " (new, not sent yet)"
          : "";
    const button = el(
      "button",
      { type: "button", disabled: household.status === "suspended", onclick: () => choose(household) },
      el("span", { text: household.name + note }),
      el("span", { class: "detail", text: detail }),
    );
    return el("li", {}, button);
  }

  function choose(household) {
    draft.household = {
      code: household.code ?? null,
      phone: household.phone,
      name: household.name,
      opId: household.opId ?? null,
    };
    $("find").value = "";
    renderLog();
  }

  // --- materials and weights ----------------------------------------------------------------------

  function renderMaterials() {
    const chosen = new Set(draft.lines.map((line) => line.material));
    const buttons = app.materials.map((material) => {
      const rated = material.points_per_kg != null;
      return el(
        "button",
        {
          type: "button",
          "aria-pressed": String(chosen.has(material.code)),
          disabled: !rated || (!chosen.has(material.code) && draft.lines.length >= MAX_LINES),
          onclick: () => addLine(material.code),
        },
        el("span", { text: material.name }),
        el("span", { class: "rate", text: rated ? `${material.points_per_kg} pts/kg` : "no rate" }),
      );
    });
    $("materials").replaceChildren(...buttons);
  }

  function addLine(code) {
    if (!draft.lines.some((line) => line.material === code)) {
      draft.lines.push({ material: code, text: "", grams: null, error: null });
      renderMaterials();
      renderLines();
    }
    $(`kg-${code}`)?.focus();
  }

  function renderLines() {
    $("lines").replaceChildren(...draft.lines.map(lineItem));
    renderTotal();
  }

  function lineItem(line) {
    const id = `kg-${line.material}`;
    const name = app.materialName(line.material);
    const error = el("p", { class: "error", id: `${id}-error`, hidden: !line.error, text: line.error });
    const input = el("input", {
      id,
      type: "text",
      inputmode: "decimal",
      enterkeyhint: "done",
      autocomplete: "off",
      value: line.text,
      "aria-describedby": `${id}-error`,
      "aria-invalid": String(Boolean(line.error)),
    });
    input.addEventListener("input", () => {
      line.text = input.value;
      readWeight(line);
      renderTotal();
    });
    input.addEventListener("blur", () => {
      // Say what is wrong once the collector has finished typing, not at every key.
      showText(error, line.text.trim() ? line.error : "");
      input.setAttribute("aria-invalid", String(Boolean(line.error && line.text.trim())));
    });
    const remove = el("button", {
      type: "button",
      class: "small",
      "aria-label": `Remove ${name}`,
      text: "Remove",
      onclick: () => {
        draft.lines = draft.lines.filter((other) => other !== line);
        renderMaterials();
        renderLines();
      },
    });
    return el("li", {}, el("label", { for: id, text: `${name}, kg` }), input, remove, error);
  }

  function readWeight(line) {
    const parsed = parseKg(line.text);
    line.grams = parsed.grams ?? null;
    line.error = parsed.error ?? null;
  }

  function readyLines() {
    return draft.lines.every((line) => line.grams)
      ? draft.lines.map(({ material, grams }) => ({ material, grams }))
      : null;
  }

  // What the Review button would send, or why it cannot yet.
  function problem() {
    if (!draft.household) return "Find the household first.";
    if (!draft.lines.length) return "Tap the materials collected.";
    const missing = draft.lines.find((line) => !line.grams);
    if (missing)
      return missing.text.trim()
        ? `${app.materialName(missing.material)}: ${missing.error}`
        : `Type the kg of ${app.materialName(missing.material)}.`;
    if (pointsOf(readyLines(), app.rates()) <= 0) return "These weights earn 0 points: too little to log.";
    return null;
  }

  function renderTotal() {
    const blocked = problem();
    $("log-total").textContent = blocked ?? `Total: ${pointsOf(readyLines(), app.rates())} points`;
    $("review").disabled = Boolean(blocked);
  }

  function renderLog() {
    const household = draft.household;
    $("fixing").hidden = !draft.replaces;
    $("find-box").hidden = Boolean(household);
    $("chosen-box").hidden = !household;
    $("materials-box").hidden = !household;
    if (household) {
      $("chosen-name").textContent = household.name;
      $("chosen-detail").textContent = [
        household.code ?? "new household",
        nationalDigits(household.phone),
      ].join(" · ");
      renderMaterials();
      renderLines();
    } else {
      renderFound();
      renderTotal();
    }
  }

  // --- confirming ---------------------------------------------------------------------------------

  function renderConfirm() {
    const lines = readyLines();
    if (!draft.household || !lines) return app.show("log");
    const rates = app.rates();
    $("confirm-household").textContent = draft.household.name;
    $("confirm-detail").textContent = [
      draft.household.code ?? "new household",
      nationalDigits(draft.household.phone),
    ].join(" · ");
    $("confirm-lines").replaceChildren(
      ...lines.map((line) =>
        el(
          "tr",
          {},
          el("td", { text: app.materialName(line.material) }),
          el("td", { text: formatKg(line.grams) }),
          el("td", { text: String(pointsFor(line.grams, rates[line.material] ?? 0)) }),
        ),
      ),
    );
    $("confirm-points").textContent = `${pointsOf(lines, rates)} points`;
  }

  async function confirm() {
    const lines = readyLines();
    if (!draft.household || !lines || problem()) return app.show("log");
    const household = draft.household;
    const id = uuid();
    const op = {
      id,
      type: "pickup",
      owner: app.auth.owner,
      state: "queued",
      createdAt: new Date().toISOString(),
      household,
      estimate: pointsOf(lines, app.rates()),
      smsAt: null,
      payload: {
        type: "pickup",
        id,
        // A fixed pickup still happened when it was first logged.
        occurred_at: draft.occurredAt ?? new Date().toISOString(),
        household: household.code
          ? { code: household.code }
          : household.opId
            ? { id: household.opId }
            : { phone: household.phone },
        lines,
      },
    };
    const replaces = draft.replaces;
    $("confirm-ok").disabled = true;
    try {
      await app.enqueue(op);
      if (replaces) await store.deleteOps([replaces]);
    } finally {
      $("confirm-ok").disabled = false;
    }
    draft = emptyDraft();
    await app.reload();
    app.notify(
      `Saved for ${household.name}: ${op.estimate} points. ${app.waiting().length} waiting to send.`,
    );
    app.show("log");
    $("find").focus();
  }

  // --- a new household at the door ----------------------------------------------------------------

  function renderHousehold() {
    showText($("household-error"), "");
    $("household-save").textContent = fixingHousehold ? "Save and queue again" : "Add household";
  }

  async function saveHousehold(event) {
    event.preventDefault();
    const phone = $("household-phone").value.trim();
    const name = $("household-name").value.replace(/\s+/g, " ").trim();
    const address = $("household-address").value.replace(/\s+/g, " ").trim();
    const language = $("household-language").value || "EN";
    const error = $("household-error");
    if (!looksLikePhone(phone)) return showText(error, "Type the phone number, like 08031234567.");
    if (name.length < 2) return showText(error, "Type the household's name.");
    const key = phoneKey(phone);
    const member = app.households.find((household) => phoneKey(household.phone) === key);
    if (member)
      return showText(error, `Already a member: ${member.name} (${member.code}). Find them in Log.`);
    const pending = app.ops.find(
      (op) =>
        op.type === "household" &&
        op.state !== "sent" &&
        op.id !== fixingHousehold?.id &&
        phoneKey(op.household.phone) === key,
    );
    if (pending) return showText(error, `Already added on this phone: ${pending.household.name}.`);

    const id = uuid();
    const op = {
      id,
      type: "household",
      owner: app.auth.owner,
      state: "queued",
      createdAt: new Date().toISOString(),
      household: { phone, name, address: address || null, language },
      smsAt: null,
      // English, the form's default, goes as no language: a phone that chose its own by LANG
      // keeps it. Any other is the household's from its welcome on.
      payload: {
        type: "household",
        id,
        phone,
        name,
        ...(address ? { address } : {}),
        ...(language !== "EN" ? { language } : {}),
      },
    };
    const replaced = fixingHousehold;
    // Queued in its old place, and the pickups naming it re-pointed, before any sync may start.
    await store.enqueue(op, null, replaced ? { order: replaced.n } : undefined);
    if (replaced) await repoint(replaced.id, id);
    fixingHousehold = null;
    $("household-form").reset();
    draft = emptyDraft();
    draft.household = { code: null, phone, name, opId: id };
    await app.reload();
    app.notify(replaced ? `${name} saved again and queued.` : `${name} added. Now log their pickup.`);
    app.show("log");
    app.syncSoon();
  }

  // Pickups that named the household being replaced name the new one instead.
  async function repoint(oldId, newId) {
    const naming = app.ops.filter((op) => op.type === "pickup" && op.payload.household?.id === oldId);
    for (const op of naming) {
      op.payload.household = { id: newId };
      op.household = { ...op.household, opId: newId };
    }
    await store.putOps(naming);
    await store.deleteOps([oldId]);
  }

  // --- fixing what the server refused (called from the queue) -----------------------------------

  function fix(op) {
    if (op.type === "household") {
      fixingHousehold = op;
      $("household-phone").value = op.household.phone ?? "";
      $("household-name").value = op.household.name ?? "";
      $("household-address").value = op.household.address ?? "";
      $("household-language").value = op.household.language ?? "EN";
      app.show("household");
      return;
    }
    draft = emptyDraft();
    draft.household = { ...op.household };
    draft.replaces = op.id;
    draft.occurredAt = op.payload.occurred_at;
    draft.lines = op.payload.lines.map((line) => ({
      material: line.material,
      text: formatKg(line.grams),
      grams: line.grams,
      error: null,
    }));
    app.show("log");
  }

  $("find").addEventListener("input", renderFound);
  $("found-new").addEventListener("click", () => {
    const typed = $("find").value.trim();
    $("household-form").reset();
    if (/^[\d\s+()-]+$/.test(typed)) $("household-phone").value = typed;
    else $("household-name").value = typed;
    app.show("household");
  });
  $("chosen-change").addEventListener("click", () => {
    draft.household = null;
    renderLog();
    $("find").focus();
  });
  $("review").addEventListener("click", () => {
    for (const line of draft.lines) {
      showText($(`kg-${line.material}-error`), line.error);
    }
    if (!problem()) app.show("confirm");
  });
  $("confirm-back").addEventListener("click", () => app.show("log"));
  $("confirm-ok").addEventListener("click", confirm);
  $("household-form").addEventListener("submit", saveHousehold);
  app.fix = fix;

  // Shown afresh when opened; while open, a sync only refreshes what holds no typing.
  const updateLog = () => (draft.household ? (renderMaterials(), renderTotal()) : renderFound());
  return {
    show: { log: renderLog, confirm: renderConfirm, household: renderHousehold },
    update: { log: updateLog },
  };
}
