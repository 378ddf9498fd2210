// `csv` decoder: one record per line, cells named by `columns` ("" skips a
// column). A line with the wrong number of cells is malformed. Cells are
// trimmed; empty cells are skipped; numbers -> v (with the configured unit), else vs. No quoting.

import type { DecoderConfig } from './schema.js';
import { type Problem, refuse } from '../problem.js';
import { type DecodedValue, type DecodeResult, type LineDecoder, controlByte, fail, isBlank, isFieldName, none, parseNumber, stripCr } from './line-decoder.js';

type CsvConfig = Extract<DecoderConfig, { type: 'csv' }>;

/** The problems of a csv decoder config; empty when the decoder can be built. The only judge, for check and run. */
export function checkCsvDecoder(config: CsvConfig): Problem[] {
  const problems: Problem[] = [];
  const columns = config.columns;
  if (columns.length > 0 && columns.every((c) => c === '')) {
    problems.push({ path: ['columns'], kind: 'semantic', message: 'expected at least one non-empty column name, got only "" (which skips a column)' });
  }
  const seen = new Set<string>();
  columns.forEach((c, k) => {
    if (c !== '' && !isFieldName(c)) problems.push({ path: ['columns', k], kind: 'semantic', message: `column name ${JSON.stringify(c)} may only use A-Z a-z 0-9 - _ . : /` });
    else if (c !== '' && seen.has(c)) problems.push({ path: ['columns', k], kind: 'duplicate', message: `duplicate column name ${JSON.stringify(c)}; each column is a separate field` });
    seen.add(c);
  });
  return problems;
}

export function createCsvDecoder(config: CsvConfig, where = 'decoder'): LineDecoder {
  refuse(where, checkCsvDecoder(config));
  const columns = config.columns;
  const delimiter = config.delimiter ?? ',';
  // Per column: its name and unit, or undefined for a skipped column.
  const units = config.units ?? {};
  const named = columns.map((name) => (name === '' ? undefined : { name, unit: Object.hasOwn(units, name) ? units[name] : undefined }));
  return {
    decode(raw: string): DecodeResult {
      const line = stripCr(raw);
      if (isBlank(line)) return none();
      const control = controlByte(line);
      if (control !== undefined) return fail(control);
      const cells = line.split(delimiter);
      if (cells.length !== named.length) return fail(`expected ${named.length} columns, got ${cells.length}`);
      const values: DecodedValue[] = [];
      for (let i = 0; i < cells.length; i++) {
        const col = named[i];
        if (col === undefined) continue;
        const text = cells[i]!.trim();
        if (text === '') continue;
        const v = parseNumber(text);
        if (v === undefined) values.push({ field: col.name, vs: text });
        else values.push(col.unit === undefined ? { field: col.name, v } : { field: col.name, v, unit: col.unit });
      }
      return { ok: true, values };
    },
  };
}
