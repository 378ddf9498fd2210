// The demo's in-process MQTT broker (aedes, MQTT 3.1.1) on 127.0.0.1 — the
// ONE listening socket Tapwire ever opens, and only in `tapwire demo`. `stop()`
// takes it off the network the way a dead broker is: the listener closes and
// every connection drops; `start()` listens again on the same port. The broker
// itself (sessions, retained messages) lives on, as a persistent broker's would.

import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes } from 'aedes';

export interface DemoBroker {
  /** mqtt://127.0.0.1:<port>, the same across stop/start. */
  readonly url: string;
  readonly up: boolean;
  /** Closes the listener and drops every client (they see the broker go away). */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
}

export async function startDemoBroker(): Promise<DemoBroker> {
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const newServer = (): Server => createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  let server: Server | undefined = newServer();
  await listen(server, 0);
  const port = (server.address() as AddressInfo).port;

  async function stop(): Promise<void> {
    const s = server;
    if (!s) return;
    server = undefined;
    const closed = new Promise<void>((r) => s.close(() => r()));
    for (const sock of sockets) sock.destroy();
    await closed;
  }

  return {
    url: `mqtt://127.0.0.1:${port}`,
    get up() { return server !== undefined; },
    stop,
    async start() {
      if (server) return;
      const s = newServer();
      await listen(s, port);
      server = s;
    },
    async close() {
      await stop();
      await new Promise<void>((r) => broker.close(() => r()));
    },
  };
}
