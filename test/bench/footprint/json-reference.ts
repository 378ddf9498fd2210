// The JSON-per-reading reference for the footprint bench: what a plain Node
// poller does — modbus-serial's RTU client reads the workload's registers
// (one request per unit and function code, like Tapwire's merged plan), and
// mqtt.js publishes one JSON message per reading at QoS 1:
//   {"n":"m1_v","u":"V","v":230.20000000000002,"t":1733000000.123}
// No signing, no journal. Bundled by the bench (esbuild) and run with node.
//   node json-reference.mjs '{"port":"/dev/pts/3","url":"mqtt://127.0.0.1:1883","intervalMs":100}'

import mqtt from 'mqtt';
import Modbus from 'modbus-serial';
type ModbusRTU = InstanceType<typeof import('modbus-serial').default>;
import { BAUD, meterRegisters, UNITS, widthOf, type BenchRegister } from './workload.js';

interface Args { port: string; url: string; intervalMs: number }

function decode(r: BenchRegister, words: number[], at: number): number {
  const b = Buffer.alloc(8);
  for (let i = 0; i < widthOf(r.type); i++) b.writeUInt16BE(words[at + i]!, 2 * i);
  let raw: number;
  switch (r.type) {
    case 'u16': raw = b.readUInt16BE(); break;
    case 'i16': raw = b.readInt16BE(); break;
    case 'u32': raw = b.readUInt32BE(); break;
    case 'i32': raw = b.readInt32BE(); break;
    case 'f32': raw = b.readFloatBE(); break;
    case 'u64': raw = Number(b.readBigUInt64BE()); break;
  }
  if (r.scale === undefined) return raw;
  const inverse = 1 / r.scale; // 2302 / 10 = 230.2, where 2302 * 0.1 = 230.20000000000002
  return Number.isInteger(inverse) ? raw / inverse : raw * r.scale;
}

async function main(args: Args): Promise<void> {
  const client = new (Modbus as unknown as new () => ModbusRTU)();
  await client.connectRTUBuffered(args.port, { baudRate: BAUD });
  client.setTimeout(200);
  const url = new URL(args.url);
  const mq = mqtt.connect({ protocol: 'mqtt', host: url.hostname, port: Number(url.port), protocolVersion: 4, clientId: 'json-ref' });
  const plan = UNITS.flatMap((unit) => ([3, 4] as const).map((fc) => {
    const regs = meterRegisters(unit).filter((r) => r.fc === fc);
    const count = Math.max(...regs.map((r) => r.address + widthOf(r.type)));
    return { unit, fc, count, regs };
  }));
  let stopping = false;
  process.on('SIGTERM', () => { stopping = true; });
  while (!stopping) {
    const started = Date.now();
    for (const p of plan) {
      client.setID(p.unit);
      try {
        const res = p.fc === 3 ? await client.readHoldingRegisters(0, p.count) : await client.readInputRegisters(0, p.count);
        const t = Date.now() / 1000;
        for (const r of p.regs) {
          mq.publish(`ref/${r.name}`, JSON.stringify({ n: r.name, ...(r.unit ? { u: r.unit } : {}), v: decode(r, res.data, r.address), t }), { qos: 1 });
        }
      } catch (err) {
        process.stderr.write(`read ${p.unit}/${p.fc} failed: ${(err as Error).message}\n`);
      }
    }
    await new Promise((r) => setTimeout(r, Math.max(0, args.intervalMs - (Date.now() - started))));
  }
  client.close(() => undefined);
  mq.end(false, {}, () => process.exit(0));
}

main(JSON.parse(process.argv[2] ?? '{}') as Args).catch((err: unknown) => {
  process.stderr.write(`json-reference: ${String(err)}\n`);
  process.exit(1);
});
