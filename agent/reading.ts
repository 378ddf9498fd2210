// A Reading is one decoded measurement: what a source hands to the batcher.
// Exactly one of v / vs / vb is set; `name` is "<source id>:<field>".

export interface Reading {
  /** "<source id>:<field or register name>" */
  name: string;
  /** Unix time in seconds (fractional allowed) when the value was observed. */
  time: number;
  /** numeric value (SenML v) */
  v?: number;
  /** string value (SenML vs) */
  vs?: string;
  /** boolean value (SenML vb) */
  vb?: boolean;
  /** SenML unit (RFC 8428 §12.1 registry), e.g. "Cel", "m/s", "V" */
  unit?: string;
}

/** Where a source delivers its readings. Never throws back into the source. */
export type ReadingSink = (reading: Reading) => void;
