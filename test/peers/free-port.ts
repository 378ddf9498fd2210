// A free TCP port on 127.0.0.1 for a server peer (mosquitto, PostgreSQL), and
// a start on one: a port can be taken between the probe and the server's bind.

import { createServer, type AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Calls `launch` on up to five free ports until one works; resolves with it. Else removes `dir` and throws the last error. */
export async function launchOnFreePort(launch: (port: number) => Promise<void>, dir: string): Promise<number> {
  let lastErr: unknown;
  for (let i = 0; i < 5; i++) {
    const candidate = await freePort();
    try {
      await launch(candidate);
      return candidate;
    } catch (err) {
      lastErr = err;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
}
