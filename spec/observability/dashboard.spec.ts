import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { SuiteMetrics } from '../../plugins/runtime/metrics';
import { PLUGIN_METRICS_TEXTS } from '../../plugins/runtime/observability/metric-sources';

const DOCKER = join(__dirname, '..', '..', 'docker');
const dashboard = JSON.parse(readFileSync(join(DOCKER, 'grafana', 'dashboards', 'llm-suite.json'), 'utf8'));


const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'inf', 'nan']);

/** Metric names a PromQL expression reads: identifiers that are not functions, keywords, label names or values. */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // label values
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges ($__rate_interval, 5m)
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' '); // label lists
  const names = [...stripped.matchAll(/(?<![\w.])[A-Za-z_:][\w:]*/g)]
    .filter((m) => !/^\s*\(/.test(stripped.slice(m.index + m[0].length))) // a function call
    .map((m) => m[0])
    .filter((n) => !KEYWORDS.has(n.toLowerCase()));
  return [...new Set(names)];
}

function balanced(expr: string): boolean {
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  const stack: string[] = [];
  for (const c of expr.replace(/"(?:[^"\\]|\\.)*"/g, '')) {
    if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) return false;
  }
  return stack.length === 0;
}

/** Every series name the /metrics endpoint can export (histograms as _bucket, _sum and _count). */
async function exportedNames(): Promise<Set<string>> {
  const metrics = new SuiteMetrics(() => ({}), PLUGIN_METRICS_TEXTS);
  try {
    const names = new Set<string>();
    for (const [, name, type] of (await metrics.exposition()).matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      if (type === 'histogram' || type === 'summary') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
      else names.add(name);
    }
    return names;
  } finally {
    metrics.close();
  }
}

interface Panel {
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string }[];
  panels?: Panel[];
}
const panels: Panel[] = (dashboard.panels as Panel[]).flatMap((p) => [p, ...(p.panels ?? [])]);
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

describe('Grafana dashboard (docker/grafana/dashboards/llm-suite.json)', () => {
  it('has the panels people look for, each query well-formed and on the provisioned Prometheus', () => {
    const titles = panels.map((p) => p.title).join('\n');
    for (const topic of [/spend by team/i, /spend by model/i, /tokens/i, /latency percentiles/i, /cache hit rate/i, /cache savings/i, /rejections/i, /provider errors/i, /fallbacks/i]) {
      expect(titles).toMatch(topic);
    }
    const datasource = parse(readFileSync(join(DOCKER, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8')).datasources[0];
    expect(exprs.length).toBeGreaterThan(20);
    for (const { panel, expr } of exprs) {
      expect({ panel, balanced: balanced(expr), names: metricNames(expr).length > 0 }).toEqual({ panel, balanced: true, names: true });
    }
    for (const p of panels.filter((x) => x.type !== 'row')) expect([p.title, p.datasource?.uid]).toEqual([p.title, datasource.uid]);
  });

  it('extracts metric names from PromQL (functions, by-lists, matchers and ranges left out)', () => {
    expect(metricNames('histogram_quantile(0.95, sum by (le, stream) (rate(llm_x_ms_bucket{a="b(c)"}[$__rate_interval])))')).toEqual(['llm_x_ms_bucket']);
    expect(metricNames('sum(rate(a_total{status=~"5..|0"}[5m])) / sum without (x) (rate(b_total[5m])) * 3600')).toEqual(['a_total', 'b_total']);
    expect(metricNames('topk(10, sum by (consumer) (c_total)) and on (job) up')).toEqual(['c_total', 'up']);
  });

  it('references only metrics the /metrics endpoint exports', async () => {
    const exported = await exportedNames();
    const referenced = [...new Set(exprs.flatMap(({ expr }) => metricNames(expr)))].sort();
    expect(referenced.filter((n) => !exported.has(n))).toEqual([]);
    expect(referenced.filter((n) => exported.has(n)).length).toBeGreaterThan(10);
  });

  it('Prometheus scrapes the plugin server where the compose overlay makes it listen', () => {
    const prometheus = parse(readFileSync(join(DOCKER, 'prometheus', 'prometheus.yml'), 'utf8'));
    const overlay = parse(readFileSync(join(DOCKER, 'docker-compose.observability.yml'), 'utf8'));
    const kongEnv = overlay.services.kong.environment;
    expect(prometheus.scrape_configs[0].static_configs[0].targets).toEqual([`kong:${kongEnv.LLM_METRICS_PORT}`]);
    expect(kongEnv.LLM_METRICS_HOST).toBe('0.0.0.0');
    for (const name of ['LLM_METRICS_PORT', 'LLM_METRICS_HOST', 'LLM_DASHBOARD_PORT', 'LLM_ADMIN_TOKEN', 'LLM_OTLP_ENDPOINT']) {
      expect(kongEnv.KONG_NGINX_MAIN_ENV.split(/;\s*(?:env\s+)?/)).toContain(name);
    }
    expect(Object.keys(overlay.services)).toEqual(expect.arrayContaining(['prometheus', 'grafana']));
  });
});
