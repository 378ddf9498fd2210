// What the agent lets the console (and the status file) observe of its data
// path, without handing over anything that acts: the bytes and errors of the
// source ports (through a tap on the serial factory) and the last values of
// every field. The runtime keeps one set for the process, so a config swap
// keeps the history and a running `monitor`.

import type { SerialFactory } from '../../hal/serial.js';
import { createLastValues, type LastValues } from './last-values.js';
import { createPortTap, type PortTap } from './port-tap.js';

export interface AgentObservers {
  readonly ports: PortTap;
  readonly values: LastValues;
}

export function createAgentObservers(serial: SerialFactory): AgentObservers {
  return { ports: createPortTap(serial), values: createLastValues() };
}
