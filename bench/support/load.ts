import autocannon from 'autocannon';
import { request } from 'undici';
import { percentile, round } from './stats';

/** Placeholder replaced by a number unique to each request. */
export const UNIQUE_ID = '[<id>]';

/** The body with its placeholder made unique to this request. */
export function uniqueBody(body: string, id: string): string {
  return body.replaceAll(UNIQUE_ID, id);
}

/**
 * The benchmark's chat request. `unique`: every request gets its own prompt (see {@link uniqueBody}), so a
 * cache on the route always misses; otherwise every request is byte-identical (a cache hits after the first).
 */
export function chatBody(options: { unique: boolean; stream?: boolean }): string {
  const ticket = options.unique ? ` (ticket ${UNIQUE_ID})` : '';
  return JSON.stringify({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'You are a helpful assistant for the support team.' },
      { role: 'user', content: `Summarise the ticket${ticket}: the customer cannot log in after resetting the password twice.` },
    ],
    ...(options.stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

export interface LoadTarget {
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface LoadFigures {
  requests: number;
  rps: number;
  p50_ms: number;
  p99_ms: number;
}

/**
 * One autocannon run (for `seconds`, or for `amount` requests). Latency percentiles come from every response's own
 * time (autocannon's histogram keeps whole milliseconds only). Any error or non-2xx answer fails the run.
 */
export async function runLoad(
  target: LoadTarget,
  run: { connections: number; seconds?: number; amount?: number; onResponse?: (count: number) => void },
): Promise<LoadFigures> {
  const latencies: number[] = [];
  let sent = 0;
  const options: autocannon.Options = {
    url: target.url,
    method: 'POST',
    body: target.body,
    // autocannon's own idReplacement miscounts Content-Length with its ids, so each request is rebuilt here
    ...(target.body.includes(UNIQUE_ID) ? { requests: [{ setupRequest: (req) => ({ ...req, body: uniqueBody(target.body, `${process.pid}-${++sent}`) }) }] } : {}),
    headers: { 'content-type': 'application/json', ...target.headers },
    connections: run.connections,
    ...(run.amount ? { amount: run.amount } : { duration: run.seconds ?? 1 }),
  };
  let done: (err: unknown, result: autocannon.Result) => void = () => undefined;
  const finished = new Promise<autocannon.Result>((resolve, reject) => (done = (err, result) => (err ? reject(err) : resolve(result))));
  // the callback form gives the instance, whose response events carry each request's own time
  const instance = autocannon(options, (err, result) => done(err, result));
  instance.on('response', (_client, statusCode, _bytes, responseTime) => {
    if (statusCode < 300) latencies.push(responseTime);
    run.onResponse?.(latencies.length);
  });
  const result = await finished;
  if (result.errors > 0 || result.non2xx > 0 || latencies.length === 0) {
    throw new Error(`load run on ${target.url}: ${latencies.length} answers, ${result.errors} errors (${result.timeouts} timeouts), ${result.non2xx} non-2xx`);
  }
  return {
    requests: result.requests.total,
    rps: Math.round(result.requests.total / result.duration),
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
  };
}

/** One request outside any measurement; fails on a non-2xx answer. Returns the answer's headers. */
export async function sendOnce(target: LoadTarget, id = 'once'): Promise<Record<string, string | string[] | undefined>> {
  const res = await request(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...target.headers },
    body: uniqueBody(target.body, `${process.pid}-${id}-${performance.now()}`),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${target.url} answered ${res.statusCode}: ${text.slice(0, 200)}`);
  return res.headers;
}

/** Warm-up by count, not time: a first request may load models and tokenizers, then JIT and pooled connections. */
export async function warmUp(target: LoadTarget): Promise<void> {
  await sendOnce(target, 'first');
  await runLoad(target, { connections: 4, amount: 200 });
}

export interface ThroughputFigures {
  /** Best req/s among the concurrency steps whose p99 kept within the bound; 0 when none did. */
  rps: number;
  /** The concurrency that gave it. */
  connections: number | null;
  p99_ms: number | null;
  steps: (LoadFigures & { connections: number })[];
}

/** Throughput at a fixed p99 bound: steps the concurrency and keeps the best req/s whose p99 stayed within it. */
export async function throughputAtBound(
  target: LoadTarget,
  options: { concurrencies: number[]; seconds: number; p99BoundMs: number },
): Promise<ThroughputFigures> {
  const steps: ThroughputFigures['steps'] = [];
  for (const connections of options.concurrencies) steps.push({ connections, ...(await runLoad(target, { connections, seconds: options.seconds })) });
  const best = steps.filter((s) => s.p99_ms <= options.p99BoundMs).sort((a, b) => b.rps - a.rps)[0];
  return { rps: best?.rps ?? 0, connections: best?.connections ?? null, p99_ms: best?.p99_ms ?? null, steps };
}
