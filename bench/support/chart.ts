/** One horizontal bar pair (p99 above p50) per labelled row. */
export interface LatencyBar {
  label: string;
  p50_ms: number;
  p99_ms: number;
}

/** A small bar chart of p50/p99 latency per path (SVG: no native graphics library needed). */
export function latencyChart(title: string, bars: LatencyBar[]): string {
  const max = Math.max(1, ...bars.map((b) => b.p99_ms));
  const row = 36;
  const labelWidth = 190;
  const width = 720;
  const scale = (v: number) => (Math.max(0, v) / max) * (width - labelWidth - 110);
  const rows = bars
    .map((b, i) => {
      const y = 30 + i * row;
      return [
        `<text x="10" y="${y + 16}" font-size="13">${escapeXml(b.label)}</text>`,
        `<rect x="${labelWidth}" y="${y}" width="${scale(b.p99_ms).toFixed(1)}" height="12" fill="#f4a261"/>`,
        `<rect x="${labelWidth}" y="${y + 13}" width="${scale(b.p50_ms).toFixed(1)}" height="12" fill="#2a9d8f"/>`,
        `<text x="${(labelWidth + 5 + scale(b.p99_ms)).toFixed(1)}" y="${y + 11}" font-size="11">p99 ${b.p99_ms} ms</text>`,
        `<text x="${(labelWidth + 5 + scale(b.p50_ms)).toFixed(1)}" y="${y + 24}" font-size="11">p50 ${b.p50_ms} ms</text>`,
      ].join('');
    })
    .join('');
  const height = 40 + bars.length * row;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif"><rect width="100%" height="100%" fill="white"/><text x="10" y="18" font-size="14" font-weight="bold">${escapeXml(title)}</text>${rows}</svg>\n`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
