// A trend at a glance: recent values as block characters, lowest ▁ to
// highest █, scaled between the window's min and max (flat data: a flat ▄ line).

const BARS = '▁▂▃▄▅▆▇█';

export function sparkline(values: readonly number[]): string {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return '';
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const span = max - min;
  return finite.map((v) => {
    if (!(span > 0) || !Number.isFinite(span)) return BARS[3];
    const level = Math.round(((v - min) / span) * (BARS.length - 1));
    return BARS[Math.min(BARS.length - 1, Math.max(0, level))];
  }).join('');
}
