import { request } from 'undici';
import { uniqueBody, type LoadTarget } from './load';
import { percentile, round } from './stats';

export interface StreamFigures {
  requests: number;
  ttft_p50_ms: number;
  ttft_p99_ms: number;
  gap_p50_ms: number;
  gap_p99_ms: number;
}

const EVENT_END = '\n\n';

/**
 * Streams `count` chat completions one after another with a plain undici client and times, as the client sees them,
 * the first SSE event (time to first token) and the gaps between consecutive events.
 */
export async function measureStreaming(target: LoadTarget, count: number): Promise<StreamFigures> {
  const ttfts: number[] = [];
  const gaps: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const res = await request(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...target.headers },
      body: uniqueBody(target.body, `${process.pid}-stream-${i}-${started}`),
    });
    if (res.statusCode !== 200) throw new Error(`streaming request to ${target.url} answered ${res.statusCode}: ${await res.body.text()}`);
    let pending = '';
    let last: number | undefined;
    res.body.setEncoding('utf8');
    for await (const piece of res.body as AsyncIterable<string>) {
      const at = performance.now();
      pending += piece;
      let end: number;
      while ((end = pending.indexOf(EVENT_END)) >= 0) {
        pending = pending.slice(end + EVENT_END.length);
        if (last === undefined) ttfts.push(at - started);
        else gaps.push(at - last);
        last = at;
      }
    }
    if (last === undefined) throw new Error(`streaming request to ${target.url} sent no event`);
  }
  return {
    requests: count,
    ttft_p50_ms: round(percentile(ttfts, 50)),
    ttft_p99_ms: round(percentile(ttfts, 99)),
    gap_p50_ms: round(percentile(gaps, 50)),
    gap_p99_ms: round(percentile(gaps, 99)),
  };
}
