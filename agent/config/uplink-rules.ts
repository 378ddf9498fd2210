// The uplink's content rules beyond the schema, for every config (local file
// and over the air, through validateConfig): the broker URL is one the uplink
// can connect to (a port 1-65535, a host), and no secret is inline (DESIGN
// Principle 5: secrets live in 0600 files) — not as user:password in the URL,
// not as a username whose password is not in passwordFile. Messages never
// repeat what was inline.

import { IssueCode, type PathSegment } from './errors.js';

export interface UplinkRuleIssue { at: PathSegment[]; code: string; message: string }

const URL_AT: PathSegment[] = ['uplink', 'url'];

function urlIssue(url: string): UplinkRuleIssue | undefined {
  // an MQTT broker URL has no use for "@" but user:password@: never echo such a URL
  if (url.includes('@')) {
    return {
      at: URL_AT, code: IssueCode.SEMANTIC,
      message: 'credentials inside the URL are refused (secrets are never inline): give uplink.username, and the password in uplink.passwordFile (mode 0600)',
    };
  }
  // scheme://host[:port][/...]; the schema already asked for mqtt:// or mqtts://
  const m = /^mqtts?:\/\/(\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?([/?#].*)?$/.exec(url);
  if (!m) return undefined; // the schema's pattern reports it
  const [, host, port] = m;
  if (!host) return { at: URL_AT, code: IssueCode.PATTERN, message: `no broker host in ${JSON.stringify(url)} (e.g. mqtts://broker.example:8883)` };
  if (port !== undefined && !(/^\d{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return { at: URL_AT, code: IssueCode.RANGE, message: `port ${JSON.stringify(port)} in ${JSON.stringify(url)} is not a port (1-65535)` };
  }
  try { new URL(url); } catch {
    return { at: URL_AT, code: IssueCode.PATTERN, message: `${JSON.stringify(url)} is not a valid URL (e.g. mqtts://broker.example:8883)` };
  }
  return undefined;
}

/** Issues of a (possibly invalid) uplink object; fields of the wrong type are the schema's. */
export function uplinkRuleIssues(uplink: Readonly<Record<string, unknown>>): UplinkRuleIssue[] {
  const issues: UplinkRuleIssue[] = [];
  const url = Object.hasOwn(uplink, 'url') ? uplink['url'] : undefined;
  if (typeof url === 'string') {
    const issue = urlIssue(url);
    if (issue) issues.push(issue);
  }
  // (an inline "password" is the schema's unknown key, whose message already says passwordFile)
  if (Object.hasOwn(uplink, 'username') && !Object.hasOwn(uplink, 'passwordFile') && !Object.hasOwn(uplink, 'password')) {
    issues.push({
      at: ['uplink', 'passwordFile'], code: IssueCode.SEMANTIC,
      message: 'missing: uplink.username is set, and its password must come from a file (passwordFile, mode 0600), never inline',
    });
  }
  return issues;
}
