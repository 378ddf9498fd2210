// `nmea` decoder (NMEA 0183): GGA, RMC, MWV, MTW and XDR become readings. A
// sentence counts only with a valid `*HH` checksum (missing or wrong -> malformed);
// other sentence types, proprietary ($P...) and encapsulated (!...) ones are chatter: ok, no values.
//
//   $GPGGA,094736,5251.0094,N,00518.8172,E,1,12,0.60,-4,M,46.8,M,,*4B
//   |\/\_/ \______________ fields, comma-separated ______________/|\/
//   | |  type                                                     | checksum: 2 hex digits, the XOR
//   | talker (any: GP GN II WI YX ...)                            | of every byte between start and *
//   start: '$' ('!' = encapsulated, e.g. AIS)                     '*'
//
// Field names and units are DESIGN.md "Line-decoder field names". Choices made
// where it is silent: GGA with fix quality 0 (or empty) yields no values at all,
// not even sats/hdop; RMC with mode indicator N is treated like status V; lat
// and lon are emitted only as a pair; a non-numeric value in a decoded field
// makes the sentence malformed, an empty one is skipped.

import { type DecodedValue, type DecodeResult, type LineDecoder, fail, isBlank, isFieldName, none, parseNumber, quote, stripCr } from './line-decoder.js';

export function createNmeaDecoder(): LineDecoder {
  return { decode };
}

const DOLLAR = 0x24;
const BANG = 0x21;
const STAR = 0x2a;

function decode(raw: string): DecodeResult {
  const line = stripCr(raw);
  if (isBlank(line)) return none();
  const start = line.charCodeAt(0);
  if (start !== DOLLAR && start !== BANG) return fail('no sentence start');
  const star = line.length - 3;
  if (star < 1 || line.charCodeAt(star) !== STAR) return fail(line.indexOf('*') < 0 ? 'missing checksum' : 'bad checksum');
  const expected = hexByte(line, star + 1);
  let sum = 0;
  let clean = true;
  for (let i = 1; i < star; i++) {
    const c = line.charCodeAt(i);
    sum ^= c;
    // NMEA data is printable ASCII without the reserved $ ! *; anything else
    // is two sentences run together or line noise.
    if (c < 0x20 || c > 0x7e || c === DOLLAR || c === BANG || c === STAR) clean = false;
  }
  if (expected < 0 || sum !== expected) return fail('bad checksum');
  if (!clean) return fail('malformed sentence');
  if (start === BANG) return none(); // encapsulated (AIS) payloads are not ours
  const f = line.slice(1, star).split(',');
  const address = f[0]!;
  // proprietary sentences ($PGRME, $PTNTHTM...) start with P; the rest are talker (2) + type (3)
  if (address.length !== 5 || address.charCodeAt(0) === 0x50) return none();
  switch (address.slice(2)) {
    case 'GGA': return gga(f);
    case 'RMC': return rmc(f);
    case 'MWV': return mwv(f);
    case 'MTW': return mtw(f);
    case 'XDR': return xdr(f);
    default: return none();
  }
}

// GGA: time, lat, N/S, lon, E/W, quality, sats, hdop, alt, M, geoid sep, M, age, station
function gga(f: string[]): DecodeResult {
  const quality = num(f[6]);
  if (quality === undefined || quality === 0) return none();
  if (!Number.isInteger(quality) || quality < 0) return fail('bad GGA quality');
  const values: DecodedValue[] = [];
  const err = position(f, 2, values);
  if (err !== undefined) return fail(err);
  const sats = num(f[7]);
  if (sats !== undefined) {
    if (!Number.isInteger(sats) || sats < 0) return fail('bad sats');
    values.push({ field: 'sats', v: sats });
  }
  const hdop = num(f[8]);
  if (hdop !== undefined) {
    if (Number.isNaN(hdop)) return fail('bad hdop');
    values.push({ field: 'hdop', v: hdop });
  }
  const alt = num(f[9]);
  const altUnit = f[10] ?? '';
  if (alt !== undefined && (altUnit === 'M' || altUnit === '')) {
    if (Number.isNaN(alt)) return fail('bad alt');
    values.push({ field: 'alt', v: alt, unit: 'm' });
  }
  return { ok: true, values };
}

// RMC: time, status, lat, N/S, lon, E/W, sog (knots), cog, date, magvar, E/W, mode (2.3+), nav status (4.1)
function rmc(f: string[]): DecodeResult {
  if (f[2] !== 'A' || f[12] === 'N') return none();
  const values: DecodedValue[] = [];
  const err = position(f, 3, values);
  if (err !== undefined) return fail(err);
  const knots = num(f[7]);
  if (knots !== undefined) {
    if (Number.isNaN(knots)) return fail('bad sog');
    values.push({ field: 'sog', v: knots * 1852 / 3600, unit: 'm/s' });
  }
  const cog = num(f[8]);
  if (cog !== undefined) {
    if (Number.isNaN(cog)) return fail('bad cog');
    values.push({ field: 'cog', v: cog, unit: 'deg' });
  }
  return { ok: true, values };
}

// MWV: angle, reference (R relative / T true), speed, speed unit (K/M/N/S), status
function mwv(f: string[]): DecodeResult {
  if (f[5] !== 'A') return none();
  const ref = f[2];
  if (ref !== 'R' && ref !== 'T') return fail('bad MWV reference');
  const suffix = ref === 'T' ? '_true' : '';
  const values: DecodedValue[] = [];
  const angle = num(f[1]);
  if (angle !== undefined) {
    if (Number.isNaN(angle)) return fail('bad wind angle');
    values.push({ field: `wind_angle${suffix}`, v: angle, unit: 'deg' });
  }
  const speed = num(f[3]);
  if (speed !== undefined) {
    if (Number.isNaN(speed)) return fail('bad wind speed');
    let ms: number;
    switch (f[4]) {
      case 'M': ms = speed; break;
      case 'K': ms = speed / 3.6; break;
      case 'N': ms = speed * 1852 / 3600; break;
      case 'S': ms = speed * 0.44704; break; // statute mile per hour, exact by definition
      default: return fail('bad wind speed unit');
    }
    values.push({ field: `wind_speed${suffix}`, v: ms, unit: 'm/s' });
  }
  return { ok: true, values };
}

// MTW: temperature, unit (C)
function mtw(f: string[]): DecodeResult {
  const t = num(f[1]);
  if (t === undefined || f[2] !== 'C') return none();
  if (Number.isNaN(t)) return fail('bad water temperature');
  return { ok: true, values: [{ field: 'water_temp', v: t, unit: 'Cel' }] };
}

// XDR transducer type + unit letter -> SenML unit, where the mapping is obvious.
const XDR_UNITS = new Map([
  ['CC', 'Cel'], ['CK', 'K'],    // temperature
  ['PB', 'bar'], ['PP', 'Pa'],   // pressure
  ['HP', '%RH'],                 // humidity, percent
  ['AD', 'deg'],                 // angular displacement, degrees
  ['UV', 'V'], ['IA', 'A'],      // voltage, current
  ['FH', 'Hz'], ['DM', 'm'],     // frequency, linear displacement
  ['TR', '1/min'],               // tachometer, rpm
]);

// XDR: (type, value, unit, name) repeated
function xdr(f: string[]): DecodeResult {
  if ((f.length - 1) % 4 !== 0) return fail('bad XDR field count');
  const values: DecodedValue[] = [];
  for (let i = 1; i < f.length; i += 4) {
    const name = f[i + 3]!;
    const v = num(f[i + 1]);
    if (name === '' || v === undefined) continue;
    if (!isFieldName(name)) return fail(`invalid transducer name ${quote(name)}`);
    if (Number.isNaN(v)) return fail(`bad value for ${name}`);
    const unit = XDR_UNITS.get(f[i]! + f[i + 2]!);
    values.push(unit === undefined ? { field: name, v } : { field: name, v, unit });
  }
  return { ok: true, values };
}

/** lat,N/S,lon,E/W at f[at..at+3] -> values (both or neither); returns an error reason. */
function position(f: string[], at: number, values: DecodedValue[]): string | undefined {
  const lat = coord(f[at], f[at + 1], 90, 'N', 'S');
  if (Number.isNaN(lat)) return 'bad lat';
  const lon = coord(f[at + 2], f[at + 3], 180, 'E', 'W');
  if (Number.isNaN(lon)) return 'bad lon';
  if (lat !== undefined && lon !== undefined) {
    values.push({ field: 'lat', v: lat, unit: 'lat' }, { field: 'lon', v: lon, unit: 'lon' });
  }
  return undefined;
}

const DDMM = /^\d{3,}(?:\.\d*)?$/;

/** "ddmm.mmmm" (or "dddmm.mmmm") + hemisphere -> signed decimal degrees; undefined if empty, NaN if garbled. */
function coord(text: string | undefined, hemi: string | undefined, maxDeg: number, pos: string, neg: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!DDMM.test(text) || (hemi !== pos && hemi !== neg)) return NaN;
  const dot = text.indexOf('.');
  const minStart = (dot < 0 ? text.length : dot) - 2;
  const deg = Number(text.slice(0, minStart));
  const min = Number(text.slice(minStart));
  if (min >= 60) return NaN;
  const abs = deg + min / 60;
  if (abs > maxDeg) return NaN;
  return hemi === neg && abs !== 0 ? -abs : abs;
}

/** A field's number: undefined if empty or absent, NaN if not a plain decimal. */
function num(text: string | undefined): number | undefined {
  if (text === undefined || text === '') return undefined;
  return parseNumber(text) ?? NaN;
}

/** The byte two hex digits at s[i..i+1] spell, or -1. */
function hexByte(s: string, i: number): number {
  const hi = hexDigit(s.charCodeAt(i));
  const lo = hexDigit(s.charCodeAt(i + 1));
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}
