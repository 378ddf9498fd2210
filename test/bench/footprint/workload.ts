// The footprint bench's workload (issue 16): one Modbus RTU bus at 19200 baud,
// two power meters (units 1 and 2), 13 registers each = 26 readings per scan,
// polled every 100 ms and every 1000 ms. The same register map is written out
// for every contender: Tapwire's config, collectd's modbus plugin, Node-RED's
// flow, the JSON-per-reading reference. Values are fixed (the slave answers
// from tables), chosen like a meter's: integers, 0.1/0.01-scaled integers
// (exact only as float64), float32 registers and a 64-bit counter.

export const BAUD = 19200;
export const UNITS = [1, 2] as const;
export const SOURCE_ID = 'plc';

export type RegType = 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'u64';
export interface BenchRegister {
  /** register name within the source, e.g. "m1_v" */
  name: string;
  fc: 3 | 4;
  address: number;
  type: RegType;
  scale?: number;
  unit?: string;
  /** the raw value the slave holds (before scale) */
  raw: number;
}

const WIDTH: Record<RegType, number> = { u16: 1, i16: 1, u32: 2, i32: 2, f32: 2, u64: 4 };
export const widthOf = (t: RegType): number => WIDTH[t];

/** 13 registers of one meter (10 holding, 3 input), raw values varied a little per unit. */
export function meterRegisters(unit: number): BenchRegister[] {
  const p = `m${unit}_`;
  return [
    { name: `${p}v`, fc: 3, address: 0, type: 'u16', scale: 0.1, unit: 'V', raw: 2301 + unit },
    { name: `${p}i`, fc: 3, address: 1, type: 'u16', scale: 0.01, unit: 'A', raw: 1234 + unit },
    { name: `${p}p`, fc: 3, address: 2, type: 'i32', unit: 'W', raw: 2840 + unit },
    { name: `${p}e`, fc: 3, address: 4, type: 'u32', unit: 'J', raw: 1_234_567 + unit },
    { name: `${p}hz`, fc: 3, address: 6, type: 'u16', scale: 0.01, unit: 'Hz', raw: 5002 },
    { name: `${p}pf`, fc: 3, address: 7, type: 'i16', scale: 0.001, raw: 987 - unit },
    { name: `${p}t`, fc: 3, address: 8, type: 'f32', unit: 'Cel', raw: 41.5 + unit },
    { name: `${p}run`, fc: 3, address: 10, type: 'u64', unit: 's', raw: 86_400_123 + unit },
    { name: `${p}st`, fc: 3, address: 14, type: 'u16', raw: 3 },
    { name: `${p}sp`, fc: 3, address: 15, type: 'i16', scale: 0.1, unit: 'Cel', raw: -55 },
    { name: `${p}q`, fc: 4, address: 0, type: 'f32', raw: 0.0125 * unit },
    { name: `${p}pa`, fc: 4, address: 2, type: 'u32', unit: 'Pa', raw: 101_325 + unit },
    { name: `${p}rh`, fc: 4, address: 4, type: 'u16', scale: 0.1, unit: '%RH', raw: 456 + unit },
  ];
}

export const READINGS_PER_SCAN = UNITS.length * meterRegisters(1).length;

/**
 * The value a reading must carry: float32 registers at their float32 value; a
 * decimal scale as the correctly rounded quotient (2302 × 0.1 → 230.2, the
 * double nearest the meter's decimal, as agent/sources/modbus/plan.ts decodes).
 */
export function expectedValue(r: BenchRegister): number {
  const raw = r.type === 'f32' ? Math.fround(r.raw) : r.raw;
  if (r.scale === undefined) return raw;
  const inverse = 1 / r.scale;
  return Number.isInteger(inverse) ? raw / inverse : raw * r.scale;
}

/** Register words (big-endian word order) for the slave's tables. */
export function wordsOf(r: BenchRegister): number[] {
  const b = Buffer.alloc(8);
  switch (r.type) {
    case 'u16': b.writeUInt16BE(r.raw); break;
    case 'i16': b.writeInt16BE(r.raw); break;
    case 'u32': b.writeUInt32BE(r.raw); break;
    case 'i32': b.writeInt32BE(r.raw); break;
    case 'f32': b.writeFloatBE(r.raw); break;
    case 'u64': b.writeBigUInt64BE(BigInt(r.raw)); break;
  }
  return Array.from({ length: WIDTH[r.type] }, (_, i) => b.readUInt16BE(2 * i));
}

/** modbus-slave.ts units: holding / input tables for both meters. */
export function slaveUnits(): Record<string, { holding: Record<string, number>; input: Record<string, number> }> {
  const units: Record<string, { holding: Record<string, number>; input: Record<string, number> }> = {};
  for (const u of UNITS) {
    const holding: Record<string, number> = {};
    const input: Record<string, number> = {};
    for (const r of meterRegisters(u)) {
      const table = r.fc === 3 ? holding : input;
      wordsOf(r).forEach((w, i) => { table[String(r.address + i)] = w; });
    }
    units[String(u)] = { holding, input };
  }
  return units;
}

/** name (without source) -> expected value, for both meters. */
export function expectedByName(): Map<string, number> {
  const m = new Map<string, number>();
  for (const u of UNITS) for (const r of meterRegisters(u)) m.set(r.name, expectedValue(r));
  return m;
}

/** The Tapwire config for this workload. */
export function tapwireConfig(o: { stateDir: string; url: string; port: string; intervalMs: number; device: string }): Record<string, unknown> {
  return {
    device: o.device,
    stateDir: o.stateDir,
    uplink: { url: o.url, protocolVersion: 4 },
    sources: [{
      id: SOURCE_ID, type: 'modbus-rtu', port: { path: o.port, baudRate: BAUD }, intervalMs: o.intervalMs,
      devices: UNITS.map((unit) => ({
        unit, timeoutMs: 100,
        registers: meterRegisters(unit).map(({ name, fc, address, type, scale, unit: u }) => ({
          name, fc, address, type, ...(scale !== undefined ? { scale } : {}), ...(u !== undefined ? { unit: u } : {}),
        })),
      })),
    }],
  };
}

const COLLECTD_TYPE: Record<RegType, string> = { u16: 'Uint16', i16: 'Int16', u32: 'Uint32', i32: 'Int32', f32: 'Float', u64: 'Uint64' };

/** collectd.conf: the modbus plugin (one <Data> per register, one request each) and the mqtt plugin (QoS 1). */
export function collectdConfig(o: { baseDir: string; port: string; intervalMs: number; brokerPort: number }): string {
  const data: string[] = [];
  for (const u of UNITS) {
    for (const r of meterRegisters(u)) {
      data.push(`  <Data "${r.name}">
    RegisterBase ${r.address}
    RegisterType ${COLLECTD_TYPE[r.type]}
    RegisterCmd ${r.fc === 3 ? 'ReadHolding' : 'ReadInput'}
    Type gauge
    Instance "${r.name}"${r.scale !== undefined ? `\n    Scale ${r.scale}` : ''}
  </Data>`);
    }
  }
  const slaves = UNITS.map((u) => `    <Slave ${u}>
      Instance "m${u}"
${meterRegisters(u).map((r) => `      Collect "${r.name}"`).join('\n')}
    </Slave>`).join('\n');
  return `Hostname "bench"
FQDNLookup false
BaseDir "${o.baseDir}"
PIDFile "${o.baseDir}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval ${o.intervalMs / 1000}
ReadThreads 1
WriteThreads 1
LoadPlugin logfile
<Plugin logfile>
  LogLevel "warning"
  File STDERR
</Plugin>
LoadPlugin modbus
LoadPlugin mqtt
<Plugin modbus>
${data.join('\n')}
  <Host "bus">
    Device "${o.port}"
    Baudrate ${BAUD}
    Interval ${o.intervalMs / 1000}
${slaves}
  </Host>
</Plugin>
<Plugin mqtt>
  <Publish "bench">
    Host "127.0.0.1"
    Port ${o.brokerPort}
    ClientId "collectd-bench"
    QoS 1
    Prefix "collectd"
  </Publish>
</Plugin>
`;
}
