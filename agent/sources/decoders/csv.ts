// `csv` decoder: one record per line, cells named by `columns` ("" skips a
// column). A line with the wrong number of cells is malformed. Cells are
// trimmed; empty cells are skipped; numbers -> v (with the configured unit), else vs. No quoting.

import type { DecoderConfig } from '../../config/schema.js';
import { type DecodedValue, type DecodeResult, type LineDecoder, configError, fail, isBlank, isFieldName, none, parseNumber, stripCr } from './line-decoder.js';

type CsvConfig = Extract<DecoderConfig, { type: 'csv' }>;

export function createCsvDecoder(config: CsvConfig, where = 'decoder'): LineDecoder {
  const columns = config.columns;
  const delimiter = config.delimiter ?? ',';
  for (const c of columns) {
    if (c !== '' && !isFieldName(c)) {
      throw configError(`${where}: column name ${JSON.stringify(c)} may only use A-Z a-z 0-9 - _ . : /`);
    }
  }
  // Per column: its name and unit, or undefined for a skipped column.
  const units = config.units ?? {};
  const named = columns.map((name) => (name === '' ? undefined : { name, unit: Object.hasOwn(units, name) ? units[name] : undefined }));
  return {
    decode(raw: string): DecodeResult {
      const line = stripCr(raw);
      if (isBlank(line)) return none();
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
