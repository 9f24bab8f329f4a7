import type { UsageEvent } from '../../../plugins/runtime/usage-events';

/** A minimal usage event numbered `seq` (also in its request id), for checking order and completeness. */
export function numberedEvent(seq: number): UsageEvent {
  return {
    request_id: `req-${seq}`,
    time: new Date().toISOString(),
    consumer_groups: [],
    api: 'openai-chat',
    stream: false,
    status: 200,
    latency_ms: 1,
    seq,
  };
}

export const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
