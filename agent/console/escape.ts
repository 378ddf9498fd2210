// Text the agent did not write itself — string readings, log lines that quote
// a field, a broker's error, config values — reaches a person's terminal only
// with its control characters escaped: nothing from outside can move the
// cursor, change colours, retitle the window or reorder what is shown.

// C0, DEL, C1 (a UTF-8 terminal may act on U+009B as CSI), line/paragraph
// separators, bidi overrides and isolates, the BOM.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** `s` with every unsafe character written as \xNN or \uNNNN. */
export function escapeText(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
  });
}

/** escapeText, cut to `max` characters (with an ellipsis) so one value cannot flood a screen. */
export function escapeShort(s: string, max: number): string {
  const e = escapeText(s);
  return e.length > max ? `${e.slice(0, Math.max(0, max - 1))}…` : e;
}
