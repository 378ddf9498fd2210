// Where a signed batch's bytes go, per reading: the SenML records' parts
// (record head, name, unit, value), the base fields set inside the pack (bn,
// bt), and the envelope around them (COSE_Sign1, protected header, signature,
// the payload's dev/seq/prev/clk). Sizes are each part's own CBOR encoding,
// so the parts add up to the message.

import { encodeCbor } from '../../../agent/encode/cbor.js';
import { decodeSign1 } from '../../../agent/encode/cose.js';
import { parseBatchPayload } from '../../../agent/encode/batch.js';
import { SENML } from '../../../agent/encode/senml.js';

export interface ByteSplit { readings: number; total: number; head: number; name: number; unit: number; value: number; base: number; envelope: number }

export const emptySplit = (): ByteSplit => ({ readings: 0, total: 0, head: 0, name: 0, unit: 0, value: 0, base: 0, envelope: 0 });

/** Adds one message's split to `into` (a data batch; a gap notice counts as envelope). */
export function splitBatch(message: Buffer, into: ByteSplit): void {
  into.total += message.length;
  const p = parseBatchPayload(decodeSign1(message).payload);
  let inRecords = 0;
  for (const rec of (p.senml ?? []) as Array<Map<number, unknown>>) {
    into.readings++;
    into.head += 1; // a map of at most 23 entries
    inRecords += 1;
    for (const [label, v] of rec) {
      const size = 1 + encodeCbor(v).length; // integer labels -4..6 are one byte
      inRecords += size;
      if (label === SENML.n) into.name += size;
      else if (label === SENML.u) into.unit += size;
      else if (label === SENML.v || label === SENML.vs || label === SENML.vb) into.value += size;
      else into.base += size;
    }
  }
  into.envelope += message.length - inRecords;
}

/** "20.1 B/reading = head 1.0 + name 6.1 + ..." */
export function describeSplit(s: ByteSplit): string {
  const per = (x: number): string => (x / s.readings).toFixed(1);
  return `${per(s.total)} B/reading = record head ${per(s.head)} + name ${per(s.name)} + unit ${per(s.unit)} + value ${per(s.value)}`
    + ` + base fields (bn, bt) ${per(s.base)} + batch envelope (COSE, signature, dev/seq/prev/clk) ${per(s.envelope)}; ${s.readings} readings in ${s.total} bytes`;
}
