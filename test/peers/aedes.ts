// An in-process aedes broker (MQTT 3.1.1 only) on 127.0.0.1, port 0 — tests
// only; the agent itself never listens. Captures every non-$SYS publish it
// sees (clients' and their last wills) and counts TCP connections (storm checks).

import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Aedes, type AedesOptions, type Client } from 'aedes';

export interface CapturedMessage {
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  /** The publishing client's id (a last will carries its client's id too); null for broker-originated messages. */
  clientId: string | null;
}

export interface AedesPeer {
  url: string;
  port: number;
  /** Connected clients by client id (the broker's Client: `conn.destroy()` drops one uncleanly). */
  clients: Map<string, Client>;
  /** Every publish the broker saw, in order (without $SYS). */
  published: CapturedMessage[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Stops the broker (a second call does nothing). */
  close(): Promise<void>;
}

export async function startAedes(opts: Pick<AedesOptions, 'authenticate' | 'authorizePublish'> = {}): Promise<AedesPeer> {
  const broker = await Aedes.createBroker({
    ...(opts.authenticate ? { authenticate: opts.authenticate } : {}),
    ...(opts.authorizePublish ? { authorizePublish: opts.authorizePublish } : {}),
  });
  const clients = new Map<string, Client>();
  const published: CapturedMessage[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  let closed = false;

  broker.on('client', (c) => { clients.set(c.id, c); });
  broker.on('clientDisconnect', (c) => { if (clients.get(c.id) === c) clients.delete(c.id); });
  broker.on('publish', (packet, client) => {
    if (packet.topic.startsWith('$SYS')) return;
    published.push({
      topic: packet.topic,
      payload: Buffer.from(packet.payload),
      qos: packet.qos,
      retain: packet.retain,
      clientId: client ? client.id : null,
    });
  });

  const server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    clients,
    published,
    connections: () => connections,
    async close() {
      if (closed) return;
      closed = true;
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}
