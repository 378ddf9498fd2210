// The uplink alone against a real broker, no agent around it: a fake journal,
// a stand-in status signer that keeps what it signed (unique bytes per call,
// so a test can tell which signing it sees), the debug log as lines, and a
// connect that counts every MQTT client the uplink makes and shows each to
// the test as it is made.

import type { MqttClient } from 'mqtt';
import { createCounters, type Counters } from '../../agent/counters.js';
import { createLogger } from '../../agent/log.js';
import { createUplink, type Uplink, type UplinkOptions } from '../../agent/uplink/uplink.js';
import { connectMqtt } from '../../agent/uplink/mqtt-connect.js';
import type { ConnectFn } from '../../agent/uplink/types.js';
import { createSystemClock } from '../../hal/clock.js';
import { createFakeJournal, type FakeJournal } from '../uplink/fake-journal.js';

export interface SignedStatus { state: string; bytes: Buffer }

export interface UplinkRig {
  journal: FakeJournal;
  uplink: Uplink;
  /** The uplink's log lines (level debug). */
  lines: string[];
  /** Every status the uplink had signed, in order. */
  signed: SignedStatus[];
  counters: Counters;
  /** MQTT clients made so far (one a connection attempt). */
  attempts(): number;
}

/** An uplink for `device` on `url`; client id `tapwire-<device>`, prefix tapwire, keepalive 30 s, inflight 8 unless `options` say otherwise. */
export function createUplinkRig(
  options: Pick<UplinkOptions, 'device' | 'url' | 'protocolVersion' | 'reconnect'> & Partial<UplinkOptions>,
  onClient?: (c: MqttClient) => void,
): UplinkRig {
  const journal = createFakeJournal();
  const lines: string[] = [];
  const signed: SignedStatus[] = [];
  const counters = createCounters();
  let attempts = 0;
  const connect: ConnectFn = (opts) => {
    attempts++;
    const c = connectMqtt(opts);
    onClient?.(c);
    return c;
  };
  const uplink = createUplink({
    clientId: `tapwire-${options.device}`, topicPrefix: 'tapwire', keepaliveS: 30, inflight: 8, ...options,
  }, {
    journal,
    signStatus: (s) => {
      const bytes = Buffer.from(`SIG#${signed.length}:${JSON.stringify(s)}`);
      signed.push({ state: String(s.state), bytes });
      return bytes;
    },
    statusCounters: () => counters.snapshot(),
    clock: createSystemClock('sync'),
    log: createLogger('test', { level: 'debug', write: (l) => lines.push(l) }),
    counters,
    connect,
  });
  return { journal, uplink, lines, signed, counters, attempts: () => attempts };
}
