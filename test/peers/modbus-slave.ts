// An independent Modbus RTU slave for integration tests: modbus-serial's
// ServerSerial (unit id 255 = answer every unit) in a child process on the
// peer end of a pty. It records every byte it receives and sends, so tests can
// check what the agent put on the wire. Units can be healthy, dead (silent) or
// answer every request with an exception; and misbehave on the wire the way
// field devices do: answer late, put junk before the answer, answer twice; the
// line can echo every request back like an RS-485 adapter with local echo.
//
// Note: modbus-serial's ServerSerial rewrites the CRC of every request before
// checking it (serverserial.js, 'data' handler), so it answers frames with a
// bad CRC. Tests must check the CRCs of the recorded bytes themselves.
//
//   node --import tsx test/peers/modbus-slave.ts '<SlaveSpec as JSON>'   (IPC channel required)

import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface SlaveUnit {
  /** ok (default): answers from the tables; dead: never answers; exception: always exception `exceptionCode`. */
  mode?: 'ok' | 'dead' | 'exception';
  exceptionCode?: number;
  holding?: Record<string, number>;
  input?: Record<string, number>;
  coils?: Record<string, boolean>;
  discrete?: Record<string, boolean>;
  /** Hold every answer this long (ms) after modbus-serial produced it. */
  lateMs?: number;
  /** Bytes written right before every answer. */
  junkBefore?: number[];
  /** Write every answer twice, back to back. */
  twice?: boolean;
}

export interface SlaveSpec {
  path: string;
  baudRate: number;
  parity?: 'none' | 'even' | 'odd';
  /** Echo every received byte back at once (the agent hears its own request). */
  echo?: boolean;
  units: Record<string, SlaveUnit>;
}

export interface ModbusSlave {
  /** Every byte the slave has received so far, in order. */
  received(): Buffer;
  /** Every byte the slave has sent so far, in order. */
  sent(): Buffer;
  /** Every answer the slave has sent so far, one frame each (without junk or repeats). */
  answers(): Buffer[];
  stop(): Promise<void>;
}

type Message = { type: 'ready' } | { type: 'rx' | 'tx'; hex: string } | { type: 'error'; message: string };

const SELF = fileURLToPath(import.meta.url);

/** Starts the slave in a child process and resolves once it listens on `spec.path`. */
export async function startModbusSlave(spec: SlaveSpec, timeoutMs = 10_000): Promise<ModbusSlave> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, JSON.stringify(spec)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const rx: Buffer[] = [];
  const tx: Buffer[] = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`modbus slave did not start within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
    child.on('message', (m: Message) => {
      if (m.type === 'ready') { clearTimeout(timer); resolve(); }
      else if (m.type === 'error') { clearTimeout(timer); reject(new Error(`modbus slave: ${m.message}\n${stderr}`)); }
      else (m.type === 'rx' ? rx : tx).push(Buffer.from(m.hex, 'hex'));
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`modbus slave exited with ${code}\n${stderr}`)); });
  });
  try {
    await ready;
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    received: () => Buffer.concat(rx),
    sent: () => Buffer.concat(tx),
    answers: () => tx.slice(),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const force = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(force);
    },
  };
}

// ── the child ─────────────────────────────────────────────────────────────

interface ServerSerialLike {
  getPort(): { on(event: 'data', l: (d: Buffer) => void): void; write(b: Buffer): void };
  on(event: 'initialized' | 'error' | 'socketError', l: (e?: unknown) => void): void;
  close(cb: () => void): void;
}
type ServerSerialCtor = new (vector: object, options: Record<string, unknown>) => ServerSerialLike;

function runChild(spec: SlaveSpec): void {
  const require = createRequire(import.meta.url);
  const ServerSerial = require('modbus-serial/servers/serverserial') as ServerSerialCtor;
  const send = (m: Message): void => { process.send?.(m); };
  const never = new Promise<never>(() => {});

  const lookup = <T>(table: keyof Pick<SlaveUnit, 'holding' | 'input' | 'coils' | 'discrete'>) =>
    (addr: number, unitID: number): T | Promise<never> => {
      const u = spec.units[String(unitID)];
      if (!u || u.mode === 'dead') return never; // a missing device: silence on the bus
      if (u.mode === 'exception') throw { modbusErrorCode: u.exceptionCode ?? 2 };
      const v = (u[table] as Record<string, T> | undefined)?.[String(addr)];
      if (v === undefined) throw { modbusErrorCode: 2 }; // illegal data address, like a real device
      return v;
    };

  const options: Record<string, unknown> = {
    path: spec.path,
    baudRate: spec.baudRate,
    parity: spec.parity ?? 'none',
    // modbus-serial splits requests by this silence (ms); 30 ms by default is
    // far longer than t3.5 at test baud rates.
    interval: 3,
  };
  const server = new ServerSerial({
    getHoldingRegister: lookup<number>('holding'),
    getInputRegister: lookup<number>('input'),
    getCoil: lookup<boolean>('coils'),
    getDiscreteInput: lookup<boolean>('discrete'),
  }, options);
  // Record what goes out: the server writes through options.portResponse when set.
  options.portResponse = {
    write(b: Buffer) {
      const u = spec.units[String(b[0])] ?? {};
      const out = Buffer.concat([Buffer.from(u.junkBefore ?? []), b, ...(u.twice ? [b] : [])]);
      const go = (): void => {
        send({ type: 'tx', hex: b.toString('hex') });
        server.getPort().write(out);
      };
      if (u.lateMs) setTimeout(go, u.lateMs); else go();
    },
  };
  server.getPort().on('data', (d) => {
    if (spec.echo) server.getPort().write(d);
    send({ type: 'rx', hex: d.toString('hex') });
  });
  server.on('initialized', () => send({ type: 'ready' }));
  server.on('error', (e) => send({ type: 'error', message: String((e as Error | undefined)?.message ?? e) }));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  process.on('disconnect', () => server.close(() => process.exit(0)));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = process.argv[2];
  if (!arg) { process.stderr.write('usage: modbus-slave.ts <SlaveSpec JSON>\n'); process.exit(2); }
  runChild(JSON.parse(arg) as SlaveSpec);
}
