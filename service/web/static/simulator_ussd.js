// The phone simulator's USSD phone. Each screen comes from POST /simulator/ussd, which runs the same
// code as Africa's Talking's callback. The answers so far are kept here, as the network keeps them,
// and sent whole with each request.
(() => {
  "use strict";
  const panel = document.getElementById("ussd");
  if (!panel) return;
  const endpoint = panel.dataset.endpoint;
  const code = panel.dataset.serviceCode;
  const phone = document.getElementById("ussd-phone");
  const screen = document.getElementById("ussd-screen");
  const status = document.getElementById("ussd-status");
  const form = document.getElementById("ussd-send");
  const answer = document.getElementById("ussd-answer");
  const send = form.querySelector("button[type=submit]");
  const dial = document.getElementById("ussd-dial");
  const hangUp = document.getElementById("ussd-hangup");
  const error = document.getElementById("ussd-error");
  const MAX_SCREEN = 182;
  let session = null; // the id of the session waiting for an answer; null when none is
  let answers = [];
  let busy = false;

  function waiting(on) {
    answer.disabled = !on;
    send.disabled = !on;
    if (on) answer.focus();
  }

  function idle(text) {
    session = null;
    answers = [];
    screen.textContent = text;
    screen.dataset.state = "idle";
    status.textContent = "";
    hangUp.disabled = true;
    waiting(false);
  }

  function show(found) {
    const ended = found.ended;
    screen.textContent = found.screen.slice(4); // without "CON " or "END ", as a phone shows it
    screen.dataset.state = ended ? "end" : "con";
    status.textContent = ended
      ? `END, ${found.screen.length}/${MAX_SCREEN} characters: the session is over. Dial again to start a new one.`
      : `CON, ${found.screen.length}/${MAX_SCREEN} characters: type an answer and send it.`;
    if (ended) session = null;
    hangUp.disabled = false;
    waiting(!ended);
  }

  // True when a screen came back.
  async function ask(next, fresh) {
    if (busy) return false;
    busy = true;
    error.textContent = "";
    const body = {phone: phone.value, answers: next};
    if (!fresh) body.session = session;
    try {
      const response = await fetch(endpoint, {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify(body),
      });
      const found = await response.json();
      if (!response.ok) {
        error.textContent = found.error.message;
        return false;
      }
      session = found.session;
      answers = next;
      show(found);
      return true;
    } catch (failure) {
      error.textContent = `Kolekt did not answer (${failure.message}); try again.`;
      return false;
    } finally {
      busy = false;
    }
  }

  dial.addEventListener("click", () => ask([], true));
  hangUp.addEventListener("click", () => idle(`Hung up. Dial ${code} to start again.`));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (session === null || busy) return;
    const typed = answer.value;
    answer.value = "";
    if (!(await ask([...answers, typed], false)) && answer.value === "") answer.value = typed;
  });
  // Another number is another phone: whatever session this one had is over.
  phone.addEventListener("change", () => idle(`Dial ${code} to start.`));
})();
