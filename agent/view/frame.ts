// Fits the live view into the terminal: every line cut to the width (never
// wrapped), at most rows-1 lines (the cursor parks on the last row, so nothing
// scrolls). A small terminal shows fewer field rows and notes, never a garbled
// screen. The one choke point to the terminal: every line is escaped here.
//
//   title                      priority when rows run short:
//   keys                        1 title  2 three field rows  3 the chain
//   FIELD VALUE UNIT AGE ...    4 keys  5 three notes  6 the other fields
//   -- chain --                 7 more notes
//   -- what happened --

import { escapeText } from '../escape.js';

export interface FrameParts {
  title: string;
  /** The keys a person can press, if any. */
  keys?: string;
  /** The field table: a header row, then one row per field. */
  fields: string[];
  chain: string[];
  /** One line each, oldest first. */
  notes: string[];
}

export interface TermSize { rows: number; cols: number }

const FEW = 3;
const MAX_NOTE_ROWS = 10;
/** A wrapped note's next rows start under its text, after the time stamp. */
const NOTE_INDENT = '         ';

/** Cuts `line` to `width` characters, the last one an ellipsis when cut. */
export function cut(line: string, width: number): string {
  const chars = Array.from(line);
  if (chars.length <= width) return line;
  return width <= 1 ? chars.slice(0, width).join('') : `${chars.slice(0, width - 1).join('')}…`;
}

/** Words of `text` in rows of at most `width` characters (a word longer than that is cut by cut()). */
export function wrap(text: string, width: number, indent: string): string[] {
  const rows: string[] = [];
  let row = '';
  for (const word of text.split(' ')) {
    const next = row === '' ? word : `${row} ${word}`;
    if (Array.from(next).length <= width || row.trim() === '') row = next;
    else { rows.push(row); row = `${indent}${word}`; }
  }
  rows.push(row);
  return rows;
}

export function fitFrame(p: FrameParts, size: TermSize): string[] {
  const width = Math.max(1, Math.floor(size.cols) - 1);
  // notes are what a key did and what to look for: wrapped, never cut
  const noteRows = p.notes.flatMap((n) => wrap(escapeText(n), width, width > 2 * NOTE_INDENT.length ? NOTE_INDENT : ''));
  let budget = Math.max(1, Math.floor(size.rows) - 1);
  const take = (want: number): number => {
    const n = Math.max(0, Math.min(want, budget));
    budget -= n;
    return n;
  };
  /** A section with a header line: a header alone is not worth a row. */
  const section = (want: number): number => {
    const n = take(want);
    if (n >= 2) return n;
    budget += n;
    return 0;
  };
  const title = take(1);
  let fields = take(Math.min(p.fields.length, FEW + 1));
  const chain = section(p.chain.length + 1);
  const keys = p.keys ? take(1) : 0;
  const notesWanted = noteRows.length ? Math.min(noteRows.length, MAX_NOTE_ROWS) + 1 : 0;
  let notes = section(Math.min(notesWanted, FEW + 1));
  fields += take(p.fields.length - fields);
  notes = notes ? notes + take(notesWanted - notes) : section(notesWanted);

  const out: string[] = [];
  if (title) out.push(p.title);
  if (keys && p.keys) out.push(p.keys);
  if (fields > 0) {
    const hidden = p.fields.length - fields;
    if (hidden === 0) out.push(...p.fields);
    else if (fields === 1) out.push(`… ${p.fields.length - 1} fields (a taller terminal shows them)`);
    else out.push(...p.fields.slice(0, fields - 1), `… ${hidden + 1} more fields (a taller terminal shows them)`);
  }
  if (chain > 0) out.push('-- chain (as the cloud side verified it) --', ...p.chain.slice(0, chain - 1));
  if (notes > 0) out.push('-- what happened --', ...noteRows.slice(noteRows.length - (notes - 1)));
  return out.map((l) => cut(escapeText(l), width));
}
