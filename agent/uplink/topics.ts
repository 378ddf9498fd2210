// Every MQTT topic Tapwire uses, named in one place: the agent's uplink, the
// verifier, OTA, the fleet ingest and the demo build and parse them here.
//
//   <prefix>/<dev>/data         COSE_Sign1 batch bytes as stored, QoS 1, seq order
//   <prefix>/<dev>/status       retained, QoS 1, signed {"v":1,"dev","state","since","counters"}
//   <prefix>/<dev>/config       signed OTA config (the agent's only subscription)
//   <prefix>/<dev>/config/ack   signed answer to a config message, QoS 1, not retained
//   <prefix>/<dev>/key          signed key rollover announcement, retained
//
// The prefix is "tapwire" unless uplink.topicPrefix says otherwise.

/** The default first topic level. */
export const DEFAULT_TOPIC_PREFIX = 'tapwire';

/** What follows <prefix>/<dev>/ in a device's topics. */
export type DeviceLeaf = 'data' | 'status' | 'config' | 'config/ack' | 'key';

/** `<prefix>/<dev>/<leaf>`. */
export function deviceTopic(prefix: string, device: string, leaf: DeviceLeaf): string {
  return `${prefix}/${device}/${leaf}`;
}

/** The same leaf of every device: `<prefix>/+/<leaf>` (a subscription filter). */
export function everyDevice(prefix: string, leaf: 'data' | 'key'): string {
  return `${prefix}/+/${leaf}`;
}

/** An MQTT 5 shared subscription: the broker hands each message to one member of `group`. */
export function sharedSubscription(group: string, filter: string): string {
  return `$share/${group}/${filter}`;
}

const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/; // the config schema's device id

/** The device of `<prefix>/<dev>/<leaf>`, or undefined when the topic is not that shape. */
export function deviceOfTopic(topic: string, prefix: string, leaf: 'data' | 'key'): string | undefined {
  const head = `${prefix}/`;
  const tail = `/${leaf}`;
  if (!topic.startsWith(head) || !topic.endsWith(tail)) return undefined;
  const dev = topic.slice(head.length, topic.length - tail.length);
  return DEVICE_ID.test(dev) ? dev : undefined;
}

/** True for a topic that ends in `/<leaf>` (a message from a subscription to several leaves). */
export function isLeaf(topic: string, leaf: DeviceLeaf): boolean {
  return topic.endsWith(`/${leaf}`);
}
