// A simulated weather station for the demo and tests: a GPS + wind + water
// instrument speaking NMEA 0183, and an environment sensor speaking kv lines.
// Values random-walk and are rounded like a real instrument's display.

import { prng } from '../prng.js';

export interface WeatherSim {
  /** The next NMEA sentences (CRLF-terminated), one burst per call. */
  nmeaBurst(now: Date): string;
  /** The next kv line (LF-terminated). */
  kvLine(): string;
}

function nmeaChecksum(body: string): string {
  let x = 0;
  for (let i = 0; i < body.length; i++) x ^= body.charCodeAt(i);
  return x.toString(16).toUpperCase().padStart(2, '0');
}

const sentence = (body: string): string => `$${body}*${nmeaChecksum(body)}\r\n`;

function dm(deg: number, latitude: boolean): [string, string] {
  const hemi = latitude ? (deg >= 0 ? 'N' : 'S') : (deg >= 0 ? 'E' : 'W');
  const a = Math.abs(deg);
  const d = Math.floor(a);
  const m = (a - d) * 60;
  return [`${String(d).padStart(latitude ? 2 : 3, '0')}${m.toFixed(4).padStart(7, '0')}`, hemi];
}

export function createWeatherSim(seed = 7): WeatherSim {
  const rnd = prng(seed);
  const walk = (v: number, step: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v + (rnd() - 0.5) * step));
  let lat = 54.3213, lon = 10.1355, windAngle = 220, windKn = 12, water = 9.5, temp = 11.2, hum = 78, pres = 1013.2, baro = 1.0132;
  return {
    nmeaBurst(now) {
      lat = walk(lat, 0.0002, 54.3, 54.34); lon = walk(lon, 0.0002, 10.12, 10.15);
      windAngle = (walk(windAngle, 8, 0, 359.9) + 360) % 360; windKn = walk(windKn, 1.5, 0, 40);
      water = walk(water, 0.1, 4, 20); baro = walk(baro, 0.0004, 0.98, 1.04);
      const hh = String(now.getUTCHours()).padStart(2, '0');
      const mm = String(now.getUTCMinutes()).padStart(2, '0');
      const ss = String(now.getUTCSeconds()).padStart(2, '0');
      const date = `${String(now.getUTCDate()).padStart(2, '0')}${String(now.getUTCMonth() + 1).padStart(2, '0')}${String(now.getUTCFullYear() % 100).padStart(2, '0')}`;
      const [la, ns] = dm(lat, true);
      const [lo, ew] = dm(lon, false);
      return [
        sentence(`GPGGA,${hh}${mm}${ss}.00,${la},${ns},${lo},${ew},1,09,0.9,${(12 + rnd()).toFixed(1)},M,39.6,M,,`),
        sentence(`GPRMC,${hh}${mm}${ss}.00,A,${la},${ns},${lo},${ew},${(rnd() * 0.4).toFixed(1)},${(rnd() * 360).toFixed(1)},${date},,,A`),
        sentence(`WIMWV,${windAngle.toFixed(1)},R,${windKn.toFixed(1)},N,A`),
        sentence(`YXMTW,${water.toFixed(1)},C`),
        sentence(`WIXDR,P,${baro.toFixed(4)},B,Barometer`),
      ].join('');
    },
    kvLine() {
      temp = walk(temp, 0.2, -20, 45); hum = walk(hum, 1, 5, 100); pres = walk(pres, 0.3, 950, 1050);
      return `temp=${temp.toFixed(1)} hum=${hum.toFixed(0)} pres=${pres.toFixed(1)}\n`;
    },
  };
}
