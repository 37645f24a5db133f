// Small helpers the entity classes share.

/** Attributes as the app sees them: the JSON value the server keeps as text. */
function parseAttributes(text) {
  if (typeof text !== "string") return text ?? {};
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A unix-ms time (or ISO text) as a Date; null for none. */
export function toDate(v) {
  return v === null || v === undefined ? null : new Date(v);
}

/** The same instant (or both none). */
export function sameDate(a, b) {
  return (a?.getTime?.() ?? null) === (b?.getTime?.() ?? null);
}

/** Takes `text` (the server's JSON text of attributes, if given) into `target`'s
 * `attributes`; true if it changed. */
export function takeAttributes(target, text) {
  if (text === undefined || text === target._attributesText) return false;
  target._attributesText = text;
  target.attributes = parseAttributes(text);
  return true;
}

/** Applies `next` (name → value) to `target`'s fields and returns the names whose value
 * changed, by `equal` (Dates by instant, everything else by `===`, attributes by their text). */
export function changes(target, next) {
  const reasons = [];
  for (const [name, value] of Object.entries(next)) {
    const before = target[name];
    const same = before instanceof Date || value instanceof Date ? sameDate(before, value) : before === value;
    if (!same) reasons.push(name);
  }
  return reasons;
}
