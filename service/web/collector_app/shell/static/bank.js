// A household's cash-out account, saved at the door: the bank and the 10-digit number typed, the
// name the bank has for it asked of Paystack (through the hub, there and then) and read out to the
// household, and only then saved. Unlike a pickup, this needs data: the name is the check, and a
// bank account is not something to queue on the phone.

import { api, errorMessage } from "./sync.js";
import { nationalDigits } from "./text.js";
import { $, el, showText } from "./ui.js";

const NUBAN = /^\d{10}$/;

export function initBank(app) {
  // Downloaded once while the app is open (the programme's list; it changes rarely).
  let banks = null;
  let coolingOffHours = null;
  // The account the bank has named, waiting for "Save it"; null while typing.
  let named = null;
  let busy = false;

  const household = () => app.chosenHousehold();

  function unavailable() {
    const chosen = household();
    if (!chosen?.code) return "This household is not at the hub yet. Sync first, then save its bank account.";
    if (!app.auth?.token) return "Sign in again first: the bank checks the name through the hub.";
    if (!navigator.onLine) return "No connection now. Saving a bank account needs data: the bank checks the name while you wait.";
    return "";
  }

  function render() {
    const chosen = household();
    if (!chosen) return app.show("log");
    $("bank-household").textContent = chosen.name;
    $("bank-household-detail").textContent = [chosen.code ?? "new household", nationalDigits(chosen.phone)].join(" · ");
    const why = unavailable();
    showText($("bank-unavailable"), why);
    $("bank-form").hidden = Boolean(named);
    $("bank-named").hidden = !named;
    for (const field of [$("bank-code"), $("bank-number")]) field.disabled = Boolean(why) || busy;
    $("bank-check").hidden = Boolean(named);
    $("bank-check").disabled = Boolean(why) || busy;
    $("bank-save").hidden = !named;
    $("bank-save").disabled = Boolean(why) || busy;
    $("bank-back").textContent = named ? "Not theirs" : "Back";
    $("bank-wait").textContent =
      coolingOffHours > 0 ? `, and cash-out to it waits ${coolingOffHours} h` : "";
    if (named) {
      $("bank-named-account").textContent = `${named.bank} ${named.account}`;
      $("bank-named-name").textContent = named.account_name;
    }
  }

  // One call to the API; null (and the reason shown) unless it answered one of `wanted`.
  async function call(method, path, body, wanted) {
    let answer;
    try {
      answer = await api(method, path, { token: app.auth.token, body });
    } catch {
      showText($("bank-error"), "No connection. Try again when there is data.");
      return null;
    }
    if (answer.status === 401) {
      await app.signedOut();
      render();
      return null;
    }
    if (!wanted.includes(answer.status)) {
      showText($("bank-error"), errorMessage(answer));
      return null;
    }
    return answer.data;
  }

  async function load() {
    const chosen = household();
    showText($("bank-error"), "");
    $("bank-current").textContent = "";
    if (unavailable()) return;
    const code = encodeURIComponent(chosen.code);
    const [listed, saved] = await Promise.all([
      banks ? { banks, cooling_off_hours: coolingOffHours } : call("GET", "/banks", undefined, [200]),
      call("GET", `/households/${code}/payout-account`, undefined, [200]),
    ]);
    if (listed) {
      banks = listed.banks;
      coolingOffHours = listed.cooling_off_hours;
      fillBanks();
    }
    if (saved && household() === chosen) {
      const now = saved.current;
      $("bank-current").textContent = now
        ? `Cash-out goes to ${now.bank} ${now.account} (${now.account_name}) now. A new one replaces it.`
        : "No cash-out account saved yet.";
    }
    render();
  }

  function fillBanks() {
    const select = $("bank-code");
    const chosen = select.value;
    select.replaceChildren(
      el("option", { value: "", text: "Choose the bank" }),
      ...banks.map((bank) =>
        el("option", {
          value: bank.code,
          selected: bank.code === chosen,
          text: bank.short !== bank.name ? `${bank.short} (${bank.name})` : bank.name,
        }),
      ),
    );
  }

  function typed() {
    return {
      bank_code: $("bank-code").value,
      account_number: $("bank-number").value.replace(/[\s-]/g, ""),
    };
  }

  function problem({ bank_code, account_number }) {
    if (!bank_code) return "Choose the bank.";
    if (!NUBAN.test(account_number)) return "An account number is 10 digits.";
    return "";
  }

  async function ask(confirm) {
    const chosen = household();
    const body = named ? { bank_code: named.bank_code, account_number: named.number } : typed();
    const wrong = problem(body) || unavailable();
    showText($("bank-error"), wrong);
    if (wrong || busy) return;
    busy = true;
    render();
    const path = `/households/${encodeURIComponent(chosen.code)}/payout-account`;
    try {
      const answer = await call("POST", path, { ...body, confirm }, confirm ? [201] : [200]);
      if (!answer) return;
      if (!confirm) {
        named = { ...answer, number: body.account_number };
        return;
      }
      named = null;
      $("bank-number").value = "";
      const from = answer.usable_from ? ` Cash-out to it from ${app.when(answer.usable_from)}.` : "";
      app.notify(`Saved: ${answer.bank} ${answer.account} for ${chosen.name}. Their phone is told.${from}`);
      app.show("log");
    } finally {
      busy = false;
      if (app.view === "bank") render();
    }
  }

  function back() {
    showText($("bank-error"), "");
    if (!named) return app.show("log");
    named = null; // not theirs: type it again
    render();
    $("bank-number").focus();
  }

  $("bank-form").addEventListener("submit", (event) => {
    event.preventDefault();
    ask(false);
  });
  $("bank-save").addEventListener("click", () => ask(true));
  $("bank-back").addEventListener("click", back);
  $("chosen-bank").addEventListener("click", () => app.show("bank"));
  for (const change of ["online", "offline"]) {
    window.addEventListener(change, () => {
      if (app.view !== "bank") return;
      render();
      if (change === "online") load();
    });
  }

  function open() {
    named = null;
    showText($("bank-error"), "");
    render();
    load();
  }

  return { show: { bank: open }, update: { bank: render } };
}
