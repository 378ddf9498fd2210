// Where JSON.parse would fail (line:column) and which keys are written twice:
// config text is judged by JSON.parse, explained by this scanner.

import type { PathSegment } from './errors.js';

export function lineColumn(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let k = 0; k < offset && k < text.length; k++) {
    if (text.charCodeAt(k) === 10) {
      line++;
      lineStart = k + 1;
    }
  }
  return `${line}:${offset - lineStart + 1}`;
}

function charName(c: string): string {
  return c >= ' ' && c <= '~' ? JSON.stringify(c) : `character U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
}

export interface JsonScan {
  fault?: { offset: number; message: string };
  duplicates: { segments: PathSegment[]; offset: number }[];
}

type Frame = { kind: 'object'; keys: Set<string>; key: string } | { kind: 'array'; index: number };

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/**
 * An RFC 8259 syntax scanner (iterative: nesting depth cannot overflow the
 * stack) that finds where JSON.parse would fail and which keys are repeated.
 */
export function scanJson(text: string): JsonScan {
  const n = text.length;
  const duplicates: JsonScan['duplicates'] = [];
  const stack: Frame[] = [];
  let i = 0;

  const fault = (message: string, offset = i): JsonScan => ({ fault: { offset, message }, duplicates });
  const skipWs = (): void => {
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = text.charCodeAt(++i));
  };
  const found = (): string => {
    if (i >= n) return 'the end of the text';
    const c = text.charAt(i);
    if (c === "'") return `${charName(c)} (JSON strings and keys need double quotes)`;
    if (c === '/' || c === '#') return `${charName(c)} (JSON has no comments)`;
    return charName(c);
  };
  /** Scans a string starting at text[i] === '"'; returns an error message or undefined. */
  const scanString = (): string | undefined => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c === 0x5c) {
        const e = text.charAt(i + 1);
        if (e !== '' && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u' && /^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else return e === '' ? 'unterminated string' : `invalid escape in a string: "\\" followed by ${charName(e)}`;
        continue;
      }
      if (c < 0x20) return c === 0x0a ? 'line break inside a string (close the quote, or write \\n)' : 'control character inside a string (escape it)';
      i++;
    }
    return 'unterminated string (missing closing ")';
  };
  const scanKey = (frame: Frame & { kind: 'object' }): JsonScan | undefined => {
    skipWs();
    if (text.charAt(i) !== '"') {
      return fault(text.charAt(i) === '}' ? 'expected a key, found "}" (JSON allows no trailing comma)' : `expected a key in double quotes, found ${found()}`);
    }
    const start = i;
    const err = scanString();
    if (err) return fault(err);
    const key = JSON.parse(text.slice(start, i)) as string;
    if (frame.keys.has(key)) {
      const segments = stack.slice(0, -1).map((f) => (f.kind === 'object' ? f.key : f.index));
      duplicates.push({ segments: [...segments, key], offset: start });
    }
    frame.keys.add(key);
    frame.key = key;
    skipWs();
    if (text.charAt(i) !== ':') return fault(`expected ":" after the key ${JSON.stringify(key)}, found ${found()}`);
    i++;
    return undefined;
  };

  let expectValue = true;
  for (;;) {
    skipWs();
    if (expectValue) {
      if (i >= n) return fault(text.trim() === '' ? 'the text is empty; expected a JSON object' : 'unexpected end of the text; expected a value');
      const c = text.charAt(i);
      if (c === '{') {
        i++;
        skipWs();
        if (text.charAt(i) === '}') {
          i++;
          expectValue = false;
          continue;
        }
        const frame: Frame = { kind: 'object', keys: new Set(), key: '' };
        stack.push(frame);
        const bad = scanKey(frame);
        if (bad) return bad;
      } else if (c === '[') {
        i++;
        skipWs();
        if (text.charAt(i) === ']') {
          i++;
          expectValue = false;
          continue;
        }
        stack.push({ kind: 'array', index: 0 });
      } else if (c === '"') {
        const start = i;
        const err = scanString();
        if (err) return fault(err, err.startsWith('unterminated') ? start : i);
        expectValue = false;
      } else if (c === '-' || (c >= '0' && c <= '9')) {
        NUMBER.lastIndex = i;
        const m = NUMBER.exec(text);
        if (!m) return fault(`invalid number, found ${found()}`);
        i += m[0].length;
        expectValue = false;
      } else if (text.startsWith('true', i) || text.startsWith('null', i)) {
        i += 4;
        expectValue = false;
      } else if (text.startsWith('false', i)) {
        i += 5;
        expectValue = false;
      } else if (c === ']' || c === '}') {
        return fault(`expected a value, found ${found()} (JSON allows no trailing comma)`);
      } else {
        return fault(`expected a value, found ${found()}`);
      }
    } else {
      const top = stack[stack.length - 1];
      if (!top) return i < n ? fault(`unexpected ${found()} after the end of the JSON value`) : { duplicates };
      const close = top.kind === 'object' ? '}' : ']';
      if (i >= n) return fault(`unexpected end of the text; expected "," or "${close}"`);
      const c = text.charAt(i);
      if (c === ',') {
        i++;
        if (top.kind === 'object') {
          const bad = scanKey(top);
          if (bad) return bad;
        } else {
          top.index++;
        }
        expectValue = true;
      } else if (c === close) {
        i++;
        stack.pop();
      } else {
        return fault(`expected "," or "${close}", found ${found()}`);
      }
    }
  }
}
