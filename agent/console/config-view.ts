// The running config as the console shows it: one `path: value` line per
// setting. The config holds no secret inline (the schema has no field for
// one; secrets are files, shown by path only); a URL is shown without any
// user-info it might carry.

const SECRET_FILES = new Set(['uplink.key', 'uplink.passwordFile']);

/** scheme://host:port/path without user and password. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = '';
    u.password = '';
    return `${u.toString()} (credentials in the URL not shown)`;
  } catch {
    return url.replace(/\/\/[^/\s]*@/, '//<hidden>@');
  }
}

/** Flattens `config` into [path, value] pairs in document order. */
export function configEntries(config: unknown): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (v: unknown, path: string): void => {
    if (Array.isArray(v)) {
      if (v.length === 0) out.push([path, '[]']);
      v.forEach((item, i) => walk(item, `${path}[${i}]`));
      return;
    }
    if (v !== null && typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
      if (entries.length === 0) out.push([path, '{}']);
      for (const [k, x] of entries) walk(x, path === '' ? k : `${path}.${k}`);
      return;
    }
    let text = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
    if (path === 'uplink.url' && typeof v === 'string') text = redactUrl(v);
    if (SECRET_FILES.has(path)) text = `${text} (secret file: contents never shown)`;
    out.push([path, text]);
  };
  walk(config, '');
  return out;
}
