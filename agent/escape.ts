// The one home for escaping text the agent did not write itself — serial
// lines, MQTT payloads, string readings, a broker's error, config values —
// before it reaches a person (verify, the live view, logs, the console):
// control characters become visible escapes (\x1b, \u2028), so nothing from
// outside can move the cursor, change colours, retitle the window or reorder
// what is shown.

// C0, DEL, C1 (a UTF-8 terminal may act on U+009B as CSI), line/paragraph
// separators, bidi overrides and isolates, the BOM.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

const hex = (c: string, width: number): string => c.charCodeAt(0).toString(16).padStart(width, '0');

/** `s` with every unsafe character written as \xNN or \uNNNN. */
export function escapeText(s: string): string {
  return s.replace(UNSAFE, (c) => (c.charCodeAt(0) <= 0xff ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
}

/** `s` cut to `max` characters, the last an ellipsis, when it is longer (no escaping). */
export function shorten(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, Math.max(0, max - 1))}…` : s;
}

/** escapeText, cut to `max` characters (with an ellipsis) so one value cannot flood a screen. */
export function escapeShort(s: string, max: number): string {
  return shorten(escapeText(s), max);
}

/**
 * A line of JSON (JSON.stringify's output) made safe for a terminal and still
 * valid JSON: JSON.stringify escapes C0 but leaves DEL, C1, U+2028/9 and the
 * bidi controls raw; those can only sit inside strings, where \uNNNN means
 * the same character.
 */
export function escapeJson(json: string): string {
  return json.replace(UNSAFE, (c) => `\\u${hex(c, 4)}`);
}

/**
 * A log field value: bare when it needs no quoting, else "quoted" with \" and
 * \\ (a control character forces quotes); escaped either way.
 */
export function logValue(s: string): string {
  if (s !== '' && !/[\s"=]/.test(s) && escapeText(s) === s) return s;
  return `"${escapeText(s.replace(/["\\]/g, (c) => `\\${c}`))}"`;
}
