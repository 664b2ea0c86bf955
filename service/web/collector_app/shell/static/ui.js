// Small DOM helpers. Text goes in with textContent only: names and addresses were typed by
// people on phones, and none of it is ever parsed as HTML.

export const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) if (child != null && child !== false) node.append(child);
  return node;
}

// "1 item", "2 items"; or with both forms given: "1 item is", "2 items are".
export function plural(count, one, many = `${one}s`) {
  return `${count} ${count === 1 ? one : many}`;
}

export function showText(node, text) {
  node.textContent = text ?? "";
  node.hidden = !text;
}

// A time as the programme's clock shows it: "10:42" today, "12 Nov 10:42" another day.
export function when(iso, timeZone) {
  if (!iso) return "never";
  const moment = new Date(iso);
  const zone = timeZone || undefined;
  const day = (date) => date.toLocaleDateString("en-GB", { timeZone: zone });
  const options = { timeZone: zone, hour: "2-digit", minute: "2-digit" };
  if (day(moment) !== day(new Date())) Object.assign(options, { day: "numeric", month: "short" });
  try {
    return moment.toLocaleString("en-GB", options);
  } catch {
    return moment.toISOString().slice(0, 16).replace("T", " ");
  }
}

// A destructive button asks once more in place (no browser dialog): the first tap arms it.
export function armed(button, confirmLabel, action) {
  if (button.dataset.armed) {
    action();
    return;
  }
  const label = button.textContent;
  button.dataset.armed = "1";
  button.textContent = confirmLabel;
  button.classList.add("danger");
  setTimeout(() => {
    delete button.dataset.armed;
    button.textContent = label;
    button.classList.remove("danger");
  }, 6000);
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Plain HTTP on a LAN has no randomUUID: the same version-4 id from random bytes.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
