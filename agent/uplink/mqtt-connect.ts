// An mqtt.js client on the one transport the uplink speaks: TCP for mqtt://,
// TLS for mqtts:// (uplink-rules refuses every other scheme), through mqtt.js's
// own stream builders. mqtt.connect() would load every transport it knows at
// the first connect — WebSocket with ws, http, https and zlib among them —
// ~1 MB of RSS on a device that never opens a WebSocket (footprint bench:
// peak 58.1 -> 57.4 MB).

import { MqttClient, type IClientOptions } from 'mqtt';
import type { StreamBuilder } from 'mqtt/lib/shared';
import * as tcp from 'mqtt/lib/connect/tcp';
import * as tls from 'mqtt/lib/connect/tls';

/**
 * The builder a compiled-from-TypeScript CommonJS module exports as `default`: Node's ESM loader
 * (tests, tsx) hands us module.exports, whose `default` is it; the bundle's interop hands us it.
 */
function builderOf(m: unknown): StreamBuilder {
  let x = m;
  for (let i = 0; i < 2 && typeof x !== 'function'; i++) x = (x as { default?: unknown } | undefined)?.default;
  if (typeof x !== 'function') throw new Error('mqtt.js: no stream builder in mqtt/lib/connect');
  return x as StreamBuilder;
}
const buildTcp = builderOf(tcp);
const buildTls = builderOf(tls);

/** `opts` as brokerAddress and clientOptions give them: protocol 'mqtt' or 'mqtts', host, port. */
export function connectMqtt(opts: IClientOptions): MqttClient {
  if (opts.protocol !== 'mqtt' && opts.protocol !== 'mqtts') throw new Error(`mqtt or mqtts only (got ${String(opts.protocol)})`);
  // what mqtt.connect() does with these options before it builds the client
  const o: IClientOptions = {
    ...opts,
    defaultProtocol: opts.protocol,
    ...(opts.socksProxy === undefined && process.env.MQTTJS_SOCKS_PROXY !== undefined ? { socksProxy: process.env.MQTTJS_SOCKS_PROXY } : {}),
  };
  const build = o.protocol === 'mqtts' ? buildTls : buildTcp;
  const client = new MqttClient((c) => build(c, o), o);
  client.on('error', () => undefined); // as mqtt.connect(): the uplink listens for errors itself
  return client;
}
