// mqtt.js options for one connect attempt: our session (persistent, a week),
// our reconnects (not mqtt.js's), TLS verification that the environment cannot
// switch off, the credential files as they are now, the signed last will.

import type { IClientOptions } from 'mqtt';
import type { UplinkFiles } from './tls-files.js';
import type { UplinkOptions } from './types.js';

// The broker keeps our session (and, later, the config subscription) across
// outages up to a week; MQTT 3.1.1 sessions have no expiry of their own.
const SESSION_EXPIRY_S = 7 * 24 * 3600;
/** No CONNACK within this long: the uplink gives up on the attempt and backs off. */
export const CONNECT_TIMEOUT_MS = 30_000;
// MQTT 5: the broker must not send us packets larger than this. Config
// messages are capped at 64 KiB by the agent; room to answer a larger one with
// a signed "too-large" rejection, none to make us buffer megabytes.
const MAX_INBOUND_PACKET_BYTES = 1 << 20;

/** `will`: the signed "offline since <connect time>" status and its topic. */
export function clientOptions(opts: UplinkOptions, files: UplinkFiles, will: { topic: string; payload: Buffer }): IClientOptions {
  return {
    protocolVersion: opts.protocolVersion,
    clientId: opts.clientId,
    clean: false,
    reconnectPeriod: 0, // reconnects are ours (backoff with jitter), not mqtt.js's fixed period
    connectTimeout: CONNECT_TIMEOUT_MS + 1000,
    keepalive: opts.keepaliveS,
    // mqtt-packet's default pre-builds 65,536 two-byte Buffers on the first packet
    // (~6 MB of RSS, and objects every full GC walks again); a packet id or length is
    // written in a few instructions instead
    writeCache: false,
    // signed at connect: the last thing this connection vouches for is "offline since <connect time>"
    will: { ...will, qos: 1, retain: true },
    // explicit, so NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment cannot turn verification off
    ...(opts.url.startsWith('mqtts:') ? { rejectUnauthorized: true } : {}),
    ...(files.ca ? { ca: files.ca } : {}),
    ...(files.cert ? { cert: files.cert } : {}),
    ...(files.key ? { key: files.key } : {}),
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(files.password ? { password: files.password } : {}),
    ...(opts.protocolVersion === 5
      ? { properties: { sessionExpiryInterval: SESSION_EXPIRY_S, maximumPacketSize: MAX_INBOUND_PACKET_BYTES } }
      : {}),
  };
}
