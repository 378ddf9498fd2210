// A tiny entry for packaging tests, bundled with the real esbuild config: opens
// argv[2] read-only through hal/serial-node (so the native addon must load), prints
// one JSON line when open and one with the first text line received, then exits 0.
//   stdout: {"event":"open","version":"0.1.0","sea":false}
//           {"event":"line","line":"temp=21.5"}
// `--version` prints the build-time version and the file import.meta.url names; `--help` a usage line (nothing opened);
// `--deps` exercises the other dependencies with optional native parts (cbor-x, mqtt/ws).

import { Encoder } from 'cbor-x';
import mqtt from 'mqtt';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeSerial } from '../../hal/serial-node.js';

declare const TAPWIRE_VERSION: string | undefined; // defined by esbuild.config.mjs

function print(obj: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function isSea(): boolean {
  const sea = process.getBuiltinModule?.('node:sea') as { isSea(): boolean } | undefined;
  return sea?.isSea() ?? false;
}

function main(argv: string[]): void {
  const version = typeof TAPWIRE_VERSION === 'string' ? TAPWIRE_VERSION : 'dev';
  if (argv[0] === '--version') { print({ version, self: basename(fileURLToPath(import.meta.url)) }); return; }
  if (argv[0] === '--deps') {
    const cbor = new Encoder({ useRecords: false, variableMapSize: true, tagUint8Array: false });
    print({ cbor: Buffer.from(cbor.encode({ v: 1 })).toString('hex'), mqtt: typeof mqtt.connect });
    return;
  }
  const path = argv[0];
  if (!path || argv[0] === '--help') { process.stdout.write('usage: bundle-probe <tty path>\n'); return; }
  const port = nodeSerial.openReadOnly({ path, baudRate: 9600 });
  let text = '';
  port.onData((chunk) => {
    text += chunk.toString('utf8');
    const nl = text.indexOf('\n');
    if (nl < 0) return;
    print({ event: 'line', line: text.slice(0, nl).replace(/\r$/, '') });
    void port.close().then(() => process.exit(0));
  });
  port.onClose((err) => { if (err) { process.stderr.write(`${err.message}\n`); process.exit(1); } });
  port.open().then(
    () => print({ event: 'open', version, sea: isSea() }),
    (err: unknown) => { process.stderr.write(`${(err as Error).message}\n`); process.exit(1); },
  );
}

main(process.argv.slice(2));
