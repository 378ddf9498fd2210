// The NMEA decoder against real receiver captures (gpsd's regression logs,
// /work/shared/data/nmea, read in place). Counts come from SOURCES.md there
// where it states them; spot values are computed by hand (dd + mm/60) and
// agree with gpsd's own output in the matching .chk file.

import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNmeaDecoder } from '../../../agent/sources/decoders/nmea.js';
import type { DecodedValue, DecodeResult } from '../../../agent/sources/decoders/decoder.js';

const DIR = '/work/shared/data/nmea/';
const nmea = createNmeaDecoder();

/** The capture's lines as the lines source would see them (utf8), without gpsd's "#" header lines. */
function capture(name: string): string[] {
  return readFileSync(DIR + name, 'utf8').split('\n').filter((l) => !l.startsWith('#'));
}

interface Tally {
  errors: Record<string, number>;
  /** sentence type (GGA, RMC) -> sentences that yielded a position */
  positions: Record<string, number>;
  /** field -> values seen */
  fields: Record<string, number[]>;
}

function tally(name: string): Tally {
  const t: Tally = { errors: {}, positions: {}, fields: {} };
  for (const line of capture(name)) {
    const r = nmea.decode(line);
    if (!r.ok) { t.errors[r.error] = (t.errors[r.error] ?? 0) + 1; continue; }
    if (r.values.some((d) => d.field === 'lat')) {
      const type = line.slice(3, 6);
      t.positions[type] = (t.positions[type] ?? 0) + 1;
    }
    for (const d of r.values) (t.fields[d.field] ??= []).push(d.v!);
  }
  return t;
}

function decodeFrom(name: string, line: string): DecodedValue[] {
  assert.ok(capture(name).some((l) => l.replace(/\r$/, '') === line), `${line} is in ${name}`);
  const r: DecodeResult = nmea.decode(line + '\r');
  if (!r.ok) throw new Error(`${line}: ${r.error}`);
  return r.values;
}

function near(actual: number | undefined, expected: number, eps: number, what: string): void {
  assert.ok(actual !== undefined && Math.abs(actual - expected) <= eps, `${what}: ${actual} vs ${expected}`);
}

const FILES: Array<{ file: string; lat: [number, number]; lon: [number, number] }> = [
  { file: 'bundg_zeus_9.log', lat: [52, 53], lon: [5, 6] },
  { file: 'firefly-II.log', lat: [37, 38], lon: [-122, -121] },
  { file: 'gp-320fw-2019-04-07-coldboot.log', lat: [48, 49], lon: [11, 12] },
  { file: 'humminbird-M37.log', lat: [44, 45], lon: [-72, -71] },
  { file: 'saab-r4.log', lat: [50, 51], lon: [-9, -8] },
  { file: 'telit-he910.log', lat: [50, 51], lon: [4, 5] },
  { file: 'tnt-revolution.log', lat: [0, 0], lon: [0, 0] },
  { file: 'ublox-zed-f9p-nmea.log', lat: [-46, -45], lon: [170, 171] },
];

test('every line of every capture decodes without throwing, and every position lies where the capture was made', () => {
  let lines = 0;
  let positions = 0;
  for (const { file, lat, lon } of FILES) {
    const t = tally(file);
    lines += capture(file).length;
    for (const v of t.fields.lat ?? []) assert.ok(v >= lat[0] && v <= lat[1], `${file} lat ${v}`);
    for (const v of t.fields.lon ?? []) assert.ok(v >= lon[0] && v <= lon[1], `${file} lon ${v}`);
    positions += (t.fields.lat ?? []).length;
  }
  assert.ok(lines > 8000);
  // bundg, firefly, gp-320fw, humminbird, saab, telit, ublox (GGA + RMC, per-file counts below)
  assert.is(positions, 284 + 23 + 3 + 25 + 24 + 374 + 58);
});

test('telit: 224 GGA and 224 RMC, of which the 37 no-fix ones (GGA quality 0, RMC V) yield nothing', () => {
  const t = tally('telit-he910.log');
  assert.equal(t.errors, {});
  assert.equal(t.positions, { GGA: 224 - 37, RMC: 224 - 37 });
  assert.is(t.fields.sats!.length, 187);
  assert.is(t.fields.alt!.length, 187);
});

test('firefly: all 23 GGA fail their checksum and are dropped; the 23 RMC give positions', () => {
  const t = tally('firefly-II.log');
  assert.equal(t.errors, { 'bad checksum': 23 });
  assert.equal(t.positions, { RMC: 23 });
});

test('gp-320fw cold boot: 41 torn sentences fail their checksum, 5 have none, only intact fixes yield', () => {
  const t = tally('gp-320fw-2019-04-07-coldboot.log');
  // the 2 "no sentence start" lines are sentence tails cut off by an overrun
  assert.equal(t.errors, { 'bad checksum': 41, 'missing checksum': 5, 'no sentence start': 2 });
  assert.equal(t.positions, { GGA: 2, RMC: 1 });
});

test('bundg: 300 MWV split into relative and true wind, 148 XDR with empty transducers skipped, 149 empty MTW yield nothing', () => {
  const t = tally('bundg_zeus_9.log');
  assert.equal(t.errors, {});
  for (const f of ['wind_angle', 'wind_speed', 'wind_angle_true', 'wind_speed_true']) assert.is(t.fields[f]!.length, 150, f);
  for (const f of ['HEEL', 'TRIM', 'RUDDER']) assert.is(t.fields[f]!.length, 148, f);
  assert.is(t.fields.AIRTEMP, undefined);
  assert.is(t.fields.BARO, undefined);
  assert.is(t.fields.water_temp, undefined);
  assert.equal(t.positions, { GGA: 138, RMC: 146 });
  for (const v of t.fields.wind_angle!) assert.ok(v >= 0 && v <= 360, `wind angle ${v}`);
});

test('humminbird: MTW water temperatures are read (16, all 17.9-18.1 Cel)', () => {
  const t = tally('humminbird-M37.log');
  assert.equal(t.errors, {});
  assert.is(t.fields.water_temp!.length, 16);
  for (const v of t.fields.water_temp!) assert.ok(v >= 17.9 && v <= 18.1, `water_temp ${v}`);
});

test('bundg GGA by hand: 5251.0094 N 00518.8172 E, negative altitude (gpsd: 52.850156667, 5.313620000)', () => {
  const v = decodeFrom('bundg_zeus_9.log', '$GPGGA,094736,5251.0094,N,00518.8172,E,1,12,0.60,-4,M,46.8,M,,*4B');
  assert.equal(v, [
    { field: 'lat', v: 52 + 51.0094 / 60, unit: 'lat' },
    { field: 'lon', v: 5 + 18.8172 / 60, unit: 'lon' },
    { field: 'sats', v: 12 },
    { field: 'hdop', v: 0.6 },
    { field: 'alt', v: -4, unit: 'm' },
  ]);
  near(v[0]!.v, 52.850156667, 1e-9, 'lat');
  near(v[1]!.v, 5.31362, 1e-9, 'lon');
});

test('bundg RMC, MWV and XDR by hand', () => {
  assert.equal(decodeFrom('bundg_zeus_9.log', '$GPRMC,094737,A,5251.0093,N,00518.8170,E,5.6,230.5,200818,1.4,E,A*1F'), [
    { field: 'lat', v: 52 + 51.0093 / 60, unit: 'lat' },
    { field: 'lon', v: 5 + 18.8170 / 60, unit: 'lon' },
    { field: 'sog', v: 5.6 * 1852 / 3600, unit: 'm/s' },
    { field: 'cog', v: 230.5, unit: 'deg' },
  ]);
  assert.equal(decodeFrom('bundg_zeus_9.log', '$WIMWV,57.5,R,13.0,N,A*26'), [
    { field: 'wind_angle', v: 57.5, unit: 'deg' },
    { field: 'wind_speed', v: 13 * 1852 / 3600, unit: 'm/s' },
  ]);
  assert.equal(decodeFrom('bundg_zeus_9.log', '$WIMWV,96.6,T,11.2,N,A*2E'), [
    { field: 'wind_angle_true', v: 96.6, unit: 'deg' },
    { field: 'wind_speed_true', v: 11.2 * 1852 / 3600, unit: 'm/s' },
  ]);
  assert.equal(decodeFrom('bundg_zeus_9.log', '$IIXDR,C,,C,AIRTEMP,A,-1.0,D,HEEL,A,2.9,D,TRIM,P,,B,BARO,A,-3.9,D,RUDDER*29'), [
    { field: 'HEEL', v: -1, unit: 'deg' },
    { field: 'TRIM', v: 2.9, unit: 'deg' },
    { field: 'RUDDER', v: -3.9, unit: 'deg' },
  ]);
});

test('ublox southern hemisphere with 5-decimal minutes (gpsd: -45.877567167, 170.500111333)', () => {
  const v = decodeFrom('ublox-zed-f9p-nmea.log', '$GNGGA,003956.00,4552.65403,S,17030.00668,E,1,12,0.64,14.2,M,1.8,M,,*56');
  assert.is(v[0]!.v, -(45 + 52.65403 / 60));
  assert.is(v[1]!.v, 170 + 30.00668 / 60);
  near(v[0]!.v, -45.877567167, 1e-9, 'lat');
  near(v[1]!.v, 170.500111333, 1e-9, 'lon');
  assert.equal(v[4], { field: 'alt', v: 14.2, unit: 'm' });
});

test('saab GGA with 6-decimal minutes, W longitude and empty sats/hdop/alt yields only the position', () => {
  assert.equal(decodeFrom('saab-r4.log', '$GPGGA,130711,5012.790800,N,00806.879600,W,2,,,,,,,*6A'), [
    { field: 'lat', v: 50 + 12.7908 / 60, unit: 'lat' },
    { field: 'lon', v: -(8 + 6.8796 / 60), unit: 'lon' },
  ]);
});

test('humminbird RMC and MTW by hand (gpsd: 44.435223333, -71.675930000, 2.727 m/s)', () => {
  const v = decodeFrom('humminbird-M37.log', '$INRMC,194103,A,4426.1134,N,07140.5558,W,5.3,77.0,160906,15.8,W*66');
  near(v[0]!.v, 44.435223333, 1e-9, 'lat');
  near(v[1]!.v, -71.67593, 1e-9, 'lon');
  near(v[2]!.v, 2.727, 5e-4, 'sog');
  assert.is(v[2]!.v, 5.3 * 1852 / 3600);
  assert.equal(decodeFrom('humminbird-M37.log', '$INMTW,17.9,C*1B'), [{ field: 'water_temp', v: 17.9, unit: 'Cel' }]);
});

test('tnt XDR: angles in deg, generic transducers without a unit', () => {
  assert.equal(decodeFrom('tnt-revolution.log', '$HCXDR,A,171,D,PITCH,A,-37,D,ROLL,G,367,,MAGX,G,2420,,MAGY,G,-8984,,MAGZ*41'), [
    { field: 'PITCH', v: 171, unit: 'deg' },
    { field: 'ROLL', v: -37, unit: 'deg' },
    { field: 'MAGX', v: 367 },
    { field: 'MAGY', v: 2420 },
    { field: 'MAGZ', v: -8984 },
  ]);
});

test('telit GGA by hand (gpsd: 50.840203333, 4.347110000, 109.44 m)', () => {
  const v = decodeFrom('telit-he910.log', '$GPGGA,105153.71,5050.4122,N,00420.8266,E,1,04,2.25,109.44,M,,M,,*77');
  near(v[0]!.v, 50.840203333, 1e-9, 'lat');
  near(v[1]!.v, 4.34711, 1e-9, 'lon');
  assert.equal(v.slice(2), [{ field: 'sats', v: 4 }, { field: 'hdop', v: 2.25 }, { field: 'alt', v: 109.44, unit: 'm' }]);
});

test.run();
