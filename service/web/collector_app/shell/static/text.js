// Pure helpers: weights, points, phone numbers, search and the SMS hand-off texts.
// No DOM and no storage here, so each can be checked on its own (the browser tests do).

export const MAX_GRAMS_PER_LINE = 200000; // the programme's default limit: 200 kg per line
export const MAX_LINES = 10;

// "4.5", "4,5", "4.5kg", " 12 " -> grams as an integer. The digits are read as text, never as a
// float: 4.5 kg is 4500 g exactly, and 0.1 + 0.2 never comes into it.
export function parseKg(text) {
  const typed = String(text ?? "")
    .trim()
    .toLowerCase()
    .replace(/\s*kg$/, "");
  const match = /^(\d*)(?:[.,](\d*))?$/.exec(typed);
  if (!match || (match[1] === "" && !match[2])) {
    return { error: "Type the weight in kg, like 4.5" };
  }
  const whole = match[1].replace(/^0+/, "");
  const fraction = match[2] ?? "";
  if (fraction.length > 3) return { error: "At most 3 decimals (grams)." };
  if (whole.length > 3) return { error: "At most 200 kg per line." };
  const grams = Number(whole || "0") * 1000 + Number(fraction.padEnd(3, "0"));
  if (grams <= 0) return { error: "The weight must be more than 0." };
  if (grams > MAX_GRAMS_PER_LINE) return { error: "At most 200 kg per line." };
  return { grams };
}

// 4500 -> "4.5", 4000 -> "4", 1005 -> "1.005": kg with at most 3 decimals, no trailing zeros.
export function formatKg(grams) {
  const rest = grams % 1000;
  const whole = String(Math.floor(grams / 1000));
  return rest ? `${whole}.${String(rest).padStart(3, "0").replace(/0+$/, "")}` : whole;
}

// As the server prices a line: grams x points per kg / 1000, rounded half up, integers only.
export function pointsFor(grams, perKg) {
  return Math.floor((grams * perKg + 500) / 1000);
}

export function pointsOf(lines, rates) {
  return lines.reduce((sum, line) => sum + pointsFor(line.grams, rates[line.material] ?? 0), 0);
}

// A Nigerian number in its national form, digits only: "+234 803 123 4567" -> "08031234567".
export function nationalDigits(phone) {
  const digits = String(phone ?? "").replace(/\D/g, "");
  return digits.startsWith("234") && digits.length > 11 ? `0${digits.slice(3)}` : digits;
}

// The last ten digits: the same number whichever way it was typed.
export function phoneKey(phone) {
  return String(phone ?? "")
    .replace(/\D/g, "")
    .slice(-10);
}

export function looksLikePhone(phone) {
  return /^\+?\d{10,15}$/.test(String(phone ?? "").replace(/[\s()-]/g, ""));
}

// Households matching what is typed: a member code, part of a phone number, or part of a name.
export function searchHouseholds(households, query, limit = 8) {
  const typed = String(query ?? "").trim();
  if (typed.length < 2) return [];
  const code = typed.toUpperCase().replace(/\s/g, "");
  const lower = typed.toLowerCase();
  const digits = /^[\d\s+()-]+$/.test(typed) ? typed.replace(/\D/g, "") : "";
  const scored = [];
  for (const household of households) {
    const rank = matchRank(household, code, lower, digits);
    if (rank !== null) scored.push([rank, household]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1].name.localeCompare(b[1].name));
  return scored.slice(0, limit).map(([, household]) => household);
}

function matchRank(household, code, lower, digits) {
  const ownCode = (household.code ?? "").toUpperCase();
  if (ownCode && ownCode === code) return 0;
  if (ownCode && code.length >= 2 && ownCode.startsWith(code)) return 1;
  if (digits.length >= 3 && phoneHas(household.phone, digits)) return 2;
  const name = household.name.toLowerCase();
  if (name.startsWith(lower) || name.includes(` ${lower}`)) return 3;
  if (name.includes(lower)) return 4;
  return null;
}

// Part of a number as typed in any form: "0803 123", "234803", "+234 803".
function phoneHas(phone, digits) {
  const full = String(phone ?? "").replace(/\D/g, "");
  return full.includes(digits) || nationalDigits(full).includes(digits);
}

// The SMS hand-off, as the contract spells it: one text per operation.
export function logText(household, lines, seq) {
  const named = household.code || nationalDigits(household.phone);
  const weights = lines.map((line) => `${line.material} ${formatKg(line.grams)}`).join(" ");
  return `LOG ${named} ${weights}${seq ? ` #${seq}` : ""}`;
}

// The words a NEW text takes for a language right after the phone (sms/grammar.py's
// LANGUAGE_WORDS; a browser test keeps the two equal).
export const LANGUAGE_WORDS = [
  ...["EN", "PCM", "YO", "HA", "IG"],
  ...["ENGLISH", "PIDGIN", "YORUBA", "HAUSA", "IGBO"],
  ...["NAIJA", "GEESI", "TURANCI", "BEKEE"],
];

// "NEW 08031234567 HA Musa Bello, 4 Ojo Rd": the language's code after the phone when the
// household's is not English (the app's default, sent as none). English is written out only
// when the name starts with a word the text would take for a language ("Igbo Chukwu").
export function newText(phone, name, address, language = null) {
  // A comma ends the name in a NEW text, so none may be inside it.
  const cleanName = oneLine(name).replace(/,/g, " ").replace(/\s+/g, " ").trim();
  const cleanAddress = oneLine(address);
  const first = cleanName.split(" ")[0].toUpperCase();
  const code = language && language !== "EN" ? language : LANGUAGE_WORDS.includes(first) ? "EN" : "";
  const named = `${code ? `${code} ` : ""}${cleanName}`;
  return `NEW ${nationalDigits(phone)} ${named}${cleanAddress ? `, ${cleanAddress}` : ""}`;
}

function oneLine(text) {
  return String(text ?? "")
    .replace(/\s+/g, " ")
    .trim();
}

// Android's form of a pre-filled text: sms:<number>?body=<text>.
export function smsHref(number, body) {
  return `sms:${number}?body=${encodeURIComponent(body)}`;
}
