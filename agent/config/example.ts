// A small, valid config: one NMEA weather station on a serial line, sent to
// one broker. Used by the demo, the docs and the tests; it must always pass
// validateConfig (test/config/load.test.ts proves it).

import type { Config } from './schema.js';

export function exampleConfig(stateDir: string, brokerUrl: string, ports: { weather: string }): Config {
  return {
    device: 'demo-station',
    stateDir,
    uplink: {
      url: brokerUrl,
      // The demo's in-process broker (aedes) speaks MQTT 3.1.1 only.
      protocolVersion: 4,
      topicPrefix: 'tapwire',
    },
    batch: { maxRecords: 100, maxAgeMs: 1000 },
    journal: { maxBytes: 16 * 1024 * 1024, fsyncIntervalMs: 1000 },
    sources: [
      {
        id: 'weather',
        type: 'lines',
        port: { path: ports.weather, baudRate: 4800 },
        decoder: { type: 'nmea' },
      },
    ],
  };
}
