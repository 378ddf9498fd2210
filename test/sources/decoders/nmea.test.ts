import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createNmeaDecoder } from '../../../agent/sources/decoders/nmea.js';
import type { DecodeResult } from '../../../agent/sources/decoders/decoder.js';

const nmea = createNmeaDecoder();

/** "$" + body + "*HH" with the checksum computed here, independently of the decoder. */
function sentence(body: string, start = '$'): string {
  let x = 0;
  for (const b of Buffer.from(body, 'latin1')) x ^= b;
  return `${start}${body}*${x.toString(16).toUpperCase().padStart(2, '0')}`;
}

function values(r: DecodeResult): Record<string, { v: number | undefined; unit: string | undefined }> {
  if (!r.ok) throw new Error(`expected ok, got ${r.error}`);
  return Object.fromEntries(r.values.map((d) => [d.field, { v: d.v, unit: d.unit }]));
}

test('the test checksum helper agrees with a real receiver sentence', () => {
  assert.is(sentence('GPGGA,094736,5251.0094,N,00518.8172,E,1,12,0.60,-4,M,46.8,M,,'),
    '$GPGGA,094736,5251.0094,N,00518.8172,E,1,12,0.60,-4,M,46.8,M,,*4B');
});

test('GGA yields lat, lon (dd + mm/60), alt, sats and hdop with their units', () => {
  const r = nmea.decode(sentence('GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,') + '\r');
  assert.equal(values(r), {
    lat: { v: 48 + 7.038 / 60, unit: 'lat' },
    lon: { v: 11 + 31 / 60, unit: 'lon' },
    sats: { v: 8, unit: undefined },
    hdop: { v: 0.9, unit: undefined },
    alt: { v: 545.4, unit: 'm' },
  });
});

test('southern and western hemispheres are negative', () => {
  const r = nmea.decode(sentence('GNGGA,003956.00,4552.65403,S,07140.5596,W,1,12,0.64,-14.2,M,1.8,M,,'));
  const v = values(r);
  assert.is(v.lat!.v, -(45 + 52.65403 / 60));
  assert.is(v.lon!.v, -(71 + 40.5596 / 60));
  assert.is(v.alt!.v, -14.2);
});

test('a zero coordinate in the southern hemisphere is +0, not -0', () => {
  const v = values(nmea.decode(sentence('GPGGA,1,0000.0000,S,00000.0000,W,1,04,1.0,0,M,,M,,')));
  assert.ok(Object.is(v.lat!.v, 0));
  assert.ok(Object.is(v.lon!.v, 0));
});

test('GGA with fix quality 0 (or none) yields no values at all', () => {
  assert.equal(nmea.decode(sentence('GPGGA,123519,4807.038,N,01131.000,E,0,08,0.9,545.4,M,46.9,M,,')), { ok: true, values: [] });
  assert.equal(nmea.decode('$GPGGA,,,,,,0,,,,M,,M,,*66'), { ok: true, values: [] });
  assert.equal(nmea.decode(sentence('GPGGA,123519,4807.038,N,01131.000,E,,08,0.9,545.4,M,46.9,M,,')), { ok: true, values: [] });
});

test('GGA with a fix but empty position fields yields the rest without a position', () => {
  assert.equal(values(nmea.decode(sentence('GPGGA,130711,,,,,2,05,1.5,,,,,'))), {
    sats: { v: 5, unit: undefined },
    hdop: { v: 1.5, unit: undefined },
  });
});

test('GGA altitude in a unit other than metres is skipped', () => {
  const v = values(nmea.decode(sentence('GPGGA,1,4807.038,N,01131.000,E,1,08,0.9,1789.4,F,46.9,M,,')));
  assert.is(v.alt, undefined);
  assert.is(v.lat!.v, 48 + 7.038 / 60);
});

test('RMC yields lat, lon, sog converted exactly from knots, and cog', () => {
  const r = nmea.decode(sentence('GPRMC,123519,A,4807.038,N,01131.000,W,10,084.4,230394,003.1,W'));
  assert.equal(values(r), {
    lat: { v: 48 + 7.038 / 60, unit: 'lat' },
    lon: { v: -(11 + 31 / 60), unit: 'lon' },
    sog: { v: 10 * 1852 / 3600, unit: 'm/s' },
    cog: { v: 84.4, unit: 'deg' },
  });
  assert.is(values(r).sog!.v, 5.144444444444445);
});

test('RMC with status V, or mode indicator N, yields nothing', () => {
  assert.equal(nmea.decode(sentence('GPRMC,123519,V,4807.038,N,01131.000,E,10,084.4,230394,003.1,W')), { ok: true, values: [] });
  assert.equal(nmea.decode(sentence('GPRMC,123519,A,4807.038,N,01131.000,E,10,084.4,230394,003.1,W,N')), { ok: true, values: [] });
});

test('RMC with NMEA 4.10 navigational status V (u-blox default) still yields', () => {
  const v = values(nmea.decode(sentence('GNRMC,003956.00,A,4552.65403,S,17030.00668,E,0.025,,120419,,,A,V')));
  assert.is(v.sog!.v, 0.025 * 1852 / 3600);
  assert.is(v.cog, undefined);
});

test('MWV relative and true wind, with every speed unit converted to m/s', () => {
  assert.equal(values(nmea.decode(sentence('WIMWV,57.5,R,13.0,N,A'))), {
    wind_angle: { v: 57.5, unit: 'deg' },
    wind_speed: { v: 13 * 1852 / 3600, unit: 'm/s' },
  });
  assert.equal(values(nmea.decode(sentence('IIMWV,96.6,T,36,K,A'))), {
    wind_angle_true: { v: 96.6, unit: 'deg' },
    wind_speed_true: { v: 10, unit: 'm/s' },
  });
  assert.is(values(nmea.decode(sentence('WIMWV,1,R,7.5,M,A'))).wind_speed!.v, 7.5);
  assert.is(values(nmea.decode(sentence('WIMWV,1,R,10,S,A'))).wind_speed!.v, 4.4704);
});

test('MWV with status V yields nothing', () => {
  assert.equal(nmea.decode(sentence('WIMWV,57.5,R,13.0,N,V')), { ok: true, values: [] });
});

test('MWV with an unknown reference or speed unit is malformed', () => {
  assert.equal(nmea.decode(sentence('WIMWV,57.5,X,13.0,N,A')), { ok: false, error: 'bad MWV reference' });
  assert.equal(nmea.decode(sentence('WIMWV,57.5,R,13.0,Q,A')), { ok: false, error: 'bad wind speed unit' });
});

test('MTW yields water_temp in Cel only for unit C and a value', () => {
  assert.equal(nmea.decode('$INMTW,17.9,C*1B'), { ok: true, values: [{ field: 'water_temp', v: 17.9, unit: 'Cel' }] });
  assert.equal(nmea.decode('$SDMTW,,C*1A'), { ok: true, values: [] });
  assert.equal(nmea.decode(sentence('YXMTW,64.2,F')), { ok: true, values: [] });
});

test('XDR yields every transducer under its own name, units mapped, empty values skipped', () => {
  const r = nmea.decode(sentence('IIXDR,C,19.5,C,AIRTEMP,A,-1.0,D,HEEL,P,1.0132,B,BARO,P,,B,EMPTY,H,55,P,HUM,U,12.6,V,BATT,G,367,,MAGX,C,66,F,OILF'));
  assert.equal(r, {
    ok: true,
    values: [
      { field: 'AIRTEMP', v: 19.5, unit: 'Cel' },
      { field: 'HEEL', v: -1, unit: 'deg' },
      { field: 'BARO', v: 1.0132, unit: 'bar' },
      { field: 'HUM', v: 55, unit: '%RH' },
      { field: 'BATT', v: 12.6, unit: 'V' },
      { field: 'MAGX', v: 367 },
      { field: 'OILF', v: 66 },
    ],
  });
  assert.equal(values(nmea.decode(sentence('WIXDR,P,101325,P,PRESS'))), { PRESS: { v: 101325, unit: 'Pa' } });
});

test('XDR with an incomplete quadruplet or a bad value is malformed', () => {
  assert.equal(nmea.decode(sentence('IIXDR,C,19.5,C,AIRTEMP,A,1')), { ok: false, error: 'bad XDR field count' });
  assert.equal(nmea.decode(sentence('IIXDR,C,hot,C,AIRTEMP')), { ok: false, error: 'bad value for AIRTEMP' });
});

test('any talker is accepted', () => {
  for (const talker of ['GP', 'GN', 'II', 'WI', 'YX', 'IN']) {
    assert.is(values(nmea.decode(sentence(`${talker}MTW,4.5,C`))).water_temp!.v, 4.5, talker);
  }
});

test('a wrong checksum is rejected, whichever character was damaged', () => {
  const good = sentence('GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,');
  assert.is(nmea.decode(good).ok, true);
  for (let i = 1; i < good.length - 3; i++) {
    const c = good.charCodeAt(i);
    const bad = good.slice(0, i) + String.fromCharCode(c === 0x31 ? 0x32 : 0x31) + good.slice(i + 1);
    assert.equal(nmea.decode(bad), { ok: false, error: 'bad checksum' }, bad);
  }
  assert.equal(nmea.decode(good.slice(0, -2) + '00'), { ok: false, error: 'bad checksum' });
  assert.equal(nmea.decode(good.slice(0, -2) + 'ZZ'), { ok: false, error: 'bad checksum' });
  assert.equal(nmea.decode(good.slice(0, -1)), { ok: false, error: 'bad checksum' });
});

test('lowercase checksum digits are accepted', () => {
  assert.equal(nmea.decode('$INMTW,17.9,C*1b'), { ok: true, values: [{ field: 'water_temp', v: 17.9, unit: 'Cel' }] });
});

test('a missing checksum is rejected', () => {
  assert.equal(nmea.decode('$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,'), { ok: false, error: 'missing checksum' });
  assert.equal(nmea.decode('$INMTW,17.9,C'), { ok: false, error: 'missing checksum' });
});

test('a line not starting with $ or ! is rejected', () => {
  assert.equal(nmea.decode('GPMTW,17.9,C*1B'), { ok: false, error: 'no sentence start' });
  assert.equal(nmea.decode(' ' + sentence('INMTW,17.9,C')), { ok: false, error: 'no sentence start' });
});

test('two sentences run together are malformed even when the trailing checksum matches', () => {
  const line = sentence('GPGSA,A,1,,,,,,,,,,,,,,,*1E$INMTW,17.9,C');
  assert.equal(nmea.decode(line), { ok: false, error: 'malformed sentence' });
});

test('control characters inside a sentence are malformed even when the checksum matches', () => {
  assert.equal(nmea.decode(sentence('INMTW,17.9\u0000,C')), { ok: false, error: 'malformed sentence' });
});

test('unsupported, proprietary and AIS sentences with valid checksums are ok with no values', () => {
  for (const line of [
    '$GPGSV,3,1,12,20,76,058,40,11,73,252,,06,41,274,,14,41,185,*7D',
    '$GPVTG,000.0,T,357.0,M,000.0,N,0000.1,K,A*13',
    '$PTNTHTM,14223,N,169,N,-43,N,13641,2454*15',
    sentence('PGRMC,A,4807.038,N'),
    '!AIVDM,1,1,,B,13aGhtw0R<OJf=6LgQ?Ad1FF05`L,0*24',
  ]) {
    assert.equal(nmea.decode(line), { ok: true, values: [] }, line);
  }
});

test('an AIS sentence with a bad checksum is still rejected', () => {
  assert.equal(nmea.decode('!AIVDM,1,1,,B,13aGhtw0R<OJf=6LgQ?Ad1FF05`L,0*25'), { ok: false, error: 'bad checksum' });
});

test('garbled coordinates and numbers with a valid checksum are malformed, not silently wrong', () => {
  const cases: Array<[string, string]> = [
    ['GPGGA,1,4807.038,X,01131.000,E,1,08,0.9,545.4,M,,M,,', 'bad lat'],
    ['GPGGA,1,4807.038,N,01131.000,N,1,08,0.9,545.4,M,,M,,', 'bad lon'],
    ['GPGGA,1,4860.000,N,01131.000,E,1,08,0.9,545.4,M,,M,,', 'bad lat'],
    ['GPGGA,1,9100.000,N,01131.000,E,1,08,0.9,545.4,M,,M,,', 'bad lat'],
    ['GPGGA,1,4807.038,N,18100.000,E,1,08,0.9,545.4,M,,M,,', 'bad lon'],
    ['GPGGA,1,48.07038,N,01131.000,E,1,08,0.9,545.4,M,,M,,', 'bad lat'],
    ['GPGGA,1,-4807.038,N,01131.000,E,1,08,0.9,545.4,M,,M,,', 'bad lat'],
    ['GPGGA,1,4807.038,N,01131.000,E,1,8.5,0.9,545.4,M,,M,,', 'bad sats'],
    ['GPGGA,1,4807.038,N,01131.000,E,1,08,x,545.4,M,,M,,', 'bad hdop'],
    ['GPGGA,1,4807.038,N,01131.000,E,1,08,0.9,5e,M,,M,,', 'bad alt'],
    ['GPGGA,1,4807.038,N,01131.000,E,Q,08,0.9,545.4,M,,M,,', 'bad GGA quality'],
    ['GPRMC,1,A,4807.038,N,01131.000,E,fast,084.4,230394,,', 'bad sog'],
    ['GPRMC,1,A,4807.038,N,01131.000,E,1,north,230394,,', 'bad cog'],
  ];
  for (const [body, error] of cases) assert.equal(nmea.decode(sentence(body)), { ok: false, error }, body);
});

test('a position is emitted only as a lat/lon pair', () => {
  const r = nmea.decode(sentence('GPRMC,1,A,4807.038,N,,,1,2,230394,,'));
  assert.equal(r, { ok: true, values: [{ field: 'sog', v: 1852 / 3600, unit: 'm/s' }, { field: 'cog', v: 2, unit: 'deg' }] });
});

test('blank lines are ok with no values', () => {
  assert.equal(nmea.decode('\r'), { ok: true, values: [] });
});

test.run();
