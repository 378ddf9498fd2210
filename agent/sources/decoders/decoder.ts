// The line-decoder contract and the factory that picks one by config type.
// A decoder never throws on a line: a malformed line is `{ ok: false, error }`
// (counted by the source); only a bad config throws, at createDecoder time,
// and checkDecoder finds the same problems first (config check).

import type { DecoderConfig } from './schema.js';
import type { Reading } from '../../reading.js';
import type { Problem } from '../problem.js';
import { checkCsvDecoder, createCsvDecoder } from './csv.js';
import { createJsonDecoder } from './json.js';
import { createKvDecoder } from './kv.js';
import { createNmeaDecoder } from './nmea.js';
import { checkRegexDecoder, createRegexDecoder } from './regex.js';

export type { DecodedValue, DecodeResult, LineDecoder } from './line-decoder.js';
import type { DecodedValue, LineDecoder } from './line-decoder.js';

/** What makes `config` unusable (paths relative to the decoder); createDecoder refuses exactly these. */
export function checkDecoder(config: DecoderConfig): Problem[] {
  switch (config.type) {
    case 'csv': return checkCsvDecoder(config);
    case 'regex': return checkRegexDecoder(config);
    default: return [];
  }
}

/** Builds the decoder for `config`. Throws a SourceConfigError (config-time) if checkDecoder finds a problem. */
export function createDecoder(config: DecoderConfig, sourceId?: string): LineDecoder {
  const where = sourceId === undefined ? 'decoder' : `source ${sourceId}: decoder`;
  switch (config.type) {
    case 'kv': return createKvDecoder(config);
    case 'csv': return createCsvDecoder(config, where);
    case 'regex': return createRegexDecoder(config, where);
    case 'json': return createJsonDecoder(config);
    case 'nmea': return createNmeaDecoder();
  }
}

/** Turns decoded values into Readings named `<sourceId>:<field>` at `timeSec`. */
export function toReadings(sourceId: string, timeSec: number, values: DecodedValue[]): Reading[] {
  const out: Reading[] = new Array<Reading>(values.length);
  for (let i = 0; i < values.length; i++) {
    const d = values[i]!;
    const r: Reading = { name: `${sourceId}:${d.field}`, time: timeSec };
    if (d.v !== undefined) r.v = d.v;
    else if (d.vs !== undefined) r.vs = d.vs;
    else if (d.vb !== undefined) r.vb = d.vb;
    if (d.unit !== undefined) r.unit = d.unit;
    out[i] = r;
  }
  return out;
}
