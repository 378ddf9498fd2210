// What went wrong with the broker, in one line a person can act on: MQTT
// reason codes named by mqtt.js's own table, TLS errors by their short reason,
// the broker URL without its credentials.

import { ReasonCodes } from 'mqtt';

/** CONNACK refusal codes (MQTT 3.1.1 §3.2.2.3, MQTT 5 §3.2.2.2), e.g. 135 → "not authorized". */
export function refusalText(code: number): string {
  const text = (ReasonCodes as Record<number, string | undefined>)[code];
  return text ? text.toLowerCase() : `reason code ${code}`;
}

/** True for the refusals that mean "this broker does not speak that MQTT version". */
export function isProtocolRefusal(code: number): boolean {
  return code === 1 || code === 132;
}

/** One line: `CODE: reason` (OpenSSL errors carry a short `reason`; their message is a dump). */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const { code, reason } = err as { code?: unknown; reason?: unknown };
  const text = typeof reason === 'string' ? reason : (err.message.split('\n')[0] ?? '').trim();
  return typeof code === 'string' && !text.includes(code) ? `${code}: ${text}` : text;
}

/** Scheme, host and port of a broker URL — never its userinfo part. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '<invalid url>';
  }
}
