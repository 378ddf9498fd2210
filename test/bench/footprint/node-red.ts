// Node-RED as a baseline for the footprint bench: the same workload as a flow —
// one modbus-read node per unit and function code (node-red-contrib-modbus,
// RTU over the pty), a function node decoding the registers, and an mqtt-out
// node publishing one JSON object per request at QoS 1. Node-RED is not a
// project dependency: the bench looks for it in $TAPWIRE_BENCH_NODE_RED (a
// folder with node_modules/node-red and node_modules/node-red-contrib-modbus),
// default ~/.cache/tapwire-bench/node-red, and says so when it is not there:
//   npm install --prefix ~/.cache/tapwire-bench/node-red node-red@4.1 node-red-contrib-modbus@5.23.3
// (later node-red-contrib-modbus releases pull a fork of modbus-serial from
// outside the npm registry).

import { existsSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BAUD, meterRegisters, UNITS, widthOf } from './workload.js';

export function nodeRedDir(env = process.env): string {
  return env.TAPWIRE_BENCH_NODE_RED ?? join(homedir(), '.cache', 'tapwire-bench', 'node-red');
}

/** red.js when Node-RED and the modbus nodes are installed, else undefined. */
export function nodeRedMain(dir = nodeRedDir()): string | undefined {
  const red = join(dir, 'node_modules', 'node-red', 'red.js');
  return existsSync(red) && existsSync(join(dir, 'node_modules', 'node-red-contrib-modbus')) ? red : undefined;
}

/** The decoder a function node runs on msg.payload (the register words). */
function decoderCode(unit: number, fc: 3 | 4): string {
  const regs = meterRegisters(unit).filter((r) => r.fc === fc);
  return `const w = msg.payload; const b = Buffer.alloc(8); const out = {};
${regs.map((r) => {
    const copy = Array.from({ length: widthOf(r.type) }, (_, i) => `b.writeUInt16BE(w[${r.address + i}], ${2 * i});`).join(' ');
    const read = { u16: 'b.readUInt16BE(0)', i16: 'b.readInt16BE(0)', u32: 'b.readUInt32BE(0)', i32: 'b.readInt32BE(0)', f32: 'b.readFloatBE(0)', u64: 'Number(b.readBigUInt64BE(0))' }[r.type];
    const scale = r.scale === undefined ? '' : Number.isInteger(1 / r.scale) ? ` / ${1 / r.scale}` : ` * ${r.scale}`;
    return `${copy} out[${JSON.stringify(r.name)}] = ${read}${scale};`;
  }).join('\n')}
out.t = Date.now() / 1000;
msg.payload = JSON.stringify(out); msg.topic = 'nodered/m${unit}/fc${fc}';
return msg;`;
}

/** Writes settings.js and flows.json into userDir; returns the argv for red.js. */
export function nodeRedSetup(o: { userDir: string; port: string; intervalMs: number; brokerPort: number }): string[] {
  const flows: Array<Record<string, unknown>> = [
    { id: 'tab', type: 'tab', label: 'bench' },
    {
      id: 'client', type: 'modbus-client', name: 'bus', clienttype: 'simpleser', bufferCommands: true,
      stateLogEnabled: false, queueLogEnabled: false, failureLogEnabled: false,
      tcpHost: '127.0.0.1', tcpPort: '502', tcpType: 'DEFAULT',
      serialPort: o.port, serialType: 'RTU-BUFFERD', serialBaudrate: String(BAUD), serialDatabits: '8', serialStopbits: '1',
      serialParity: 'none', serialConnectionDelay: '100', serialAsciiResponseStartDelimiter: '0x3A',
      unit_id: '1', commandDelay: '5', clientTimeout: '200', reconnectOnTimeout: true, reconnectTimeout: '2000', parallelUnitIdsAllowed: false,
    },
    { id: 'broker', type: 'mqtt-broker', name: 'bench', broker: '127.0.0.1', port: String(o.brokerPort), clientid: 'node-red-bench', usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'out', type: 'mqtt out', z: 'tab', name: '', topic: '', qos: '1', retain: 'false', broker: 'broker', wires: [] },
  ];
  for (const unit of UNITS) {
    for (const fc of [3, 4] as const) {
      const regs = meterRegisters(unit).filter((r) => r.fc === fc);
      const quantity = Math.max(...regs.map((r) => r.address + widthOf(r.type)));
      flows.push({
        id: `read${unit}${fc}`, type: 'modbus-read', z: 'tab', name: '', topic: '', showStatusActivities: false, logIOActivities: false,
        showErrors: false, showWarnings: false, unitid: String(unit), dataType: fc === 3 ? 'HoldingRegister' : 'InputRegister', adr: '0',
        quantity: String(quantity), rate: String(o.intervalMs), rateUnit: 'ms', delayOnStart: false, startDelayTime: '', server: 'client',
        useIOFile: false, ioFile: '', useIOForPayload: false, emptyMsgOnFail: false, wires: [[`dec${unit}${fc}`], []],
      });
      flows.push({ id: `dec${unit}${fc}`, type: 'function', z: 'tab', name: '', func: decoderCode(unit, fc), outputs: 1, libs: [], wires: [['out']] });
    }
  }
  const flowFile = join(o.userDir, 'flows.json');
  writeFileSync(flowFile, JSON.stringify(flows, null, 1));
  const settings = join(o.userDir, 'settings.js');
  writeFileSync(settings, `module.exports = {
  flowFile: ${JSON.stringify(flowFile)},
  userDir: ${JSON.stringify(o.userDir)},
  uiHost: '127.0.0.1', uiPort: 0,
  disableEditor: true, httpAdminRoot: false, httpNodeRoot: false,
  credentialSecret: false,
  logging: { console: { level: process.env.NR_LOG || 'warn', metrics: false, audit: false } },
  editorTheme: { tours: false },
};\n`);
  return ['--userDir', o.userDir, '--settings', settings, flowFile];
}
