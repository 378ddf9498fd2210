// Shared fixtures for the console's unit tests: an AgentStatus as a running
// agent reports it, and views over it (the integration tests use the real ones).

import type { AgentStatus } from '../../agent/agent.js';
import { createLastValues, type LastValues } from '../../agent/console/last-values.js';
import { createLogRing, type LogRing } from '../../agent/console/log-ring.js';
import type { PortTap } from '../../agent/console/port-tap.js';
import type { ConsoleViews, SourceView } from '../../agent/console/views.js';

export const NOW = 1_800_000_000_000;

export function statusFixture(over: Partial<AgentStatus> = {}): AgentStatus {
  return {
    v: 1, dev: 'pump-7', pid: 4242, state: 'running', since: NOW / 1000 - 600, updated: NOW / 1000 - 2,
    chain: { seq: 120 }, config: { version: 0 }, key: { kid: '0011223344556677', oldKeyKept: false },
    counters: { 'source.wx.bad_lines': 2, 'source.wx.lines': 50, 'source.meter.unit.1.timeouts': 3, 'source.meter.unit.1.ok': 9 },
    sources: {
      wx: { open: true, lastReadingAt: NOW - 1500 },
      meter: { open: false, error: 'cannot open /dev/ttyAMA0: No such file or directory' },
    },
    uplink: {
      connected: true, inflight: 2, publishedSeq: 118, ackedSeq: 116, reconnects: 1,
      since: NOW - 65_000, broker: 'mqtts://broker.example.net:8883',
    },
    journal: {
      segments: 1, diskBytes: 40_960, appended: 120, appendedBytes: 40_000, bytesWritten: 41_000, fsyncs: 30,
      durableSeq: 120, committedSeq: 116, lastSeq: 120, droppedBatches: 0, droppedReadings: 0, corruptRecords: 0,
      maxBytes: 67_108_864, limitBytes: 67_108_864, limitedBy: 'maxBytes',
    },
    pendingReadings: 3,
    version: '0.1.0',
    started: NOW / 1000 - 3 * 86400 - 3600,
    clock: 'sync',
    pending: { batches: 4, bytes: 1300, exact: true, oldestSeq: 117, oldestAt: NOW - 4000 },
    ...over,
  };
}

export interface FakeViews extends ConsoleViews {
  statusValue: AgentStatus | undefined;
  values: LastValues;
  ring: LogRing;
}

export function fakeViews(opts: { sources?: SourceView[]; tap?: PortTap; device?: string } = {}): FakeViews {
  const values = createLastValues();
  const ring = createLogRing(50);
  const sources = opts.sources ?? [
    { id: 'wx', type: 'lines', port: '/dev/ttyUSB0' },
    { id: 'meter', type: 'modbus-rtu', port: '/dev/ttyAMA0' },
  ];
  const views: FakeViews = {
    device: opts.device ?? 'pump-7',
    statusValue: statusFixture(),
    values,
    ring,
    status: () => views.statusValue,
    sources: () => sources,
    readings: (id) => values.readings(id),
    lastValues: (id) => values.fields(id),
    publicKey: () => new Uint8Array(32).fill(7),
    config: () => ({ version: 0, entries: [['device', 'pump-7'], ['uplink.passwordFile', '/etc/tapwire/pw (secret file: contents never shown)']] }),
    log: (n) => ring.last(n),
    logCapacity: ring.capacity,
    monitor(id, listener) {
      const s = sources.find((x) => x.id === id);
      return s && opts.tap ? opts.tap.watch(s.port, listener) : undefined;
    },
  };
  return views;
}
