/**
 * API translation benchmark: CPU per request that llm-proxy spends translating a typical 2 KB chat request and its
 * 200-event stream between the client's API and the provider's, against the same work without translation
 * (OpenAI client → OpenAI provider, frames passed through). Each path runs what the relay runs: the client body
 * parsed and normalised, the provider request built; the provider's SSE bytes decoded, filtered, turned into chat
 * chunks and written in the client's format. No network: CPU only (process.cpuUsage over many iterations).
 * Run: npx tsc -p tsconfig.build.json && node dist/bench/translation.js  (writes bench/results/translation.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { anthropicRequestToOpenAi } from '../plugins/providers/anthropic/inbound-request';
import { OpenAiToAnthropicStream } from '../plugins/providers/anthropic/stream-from-openai';
import { AnthropicToOpenAiStream } from '../plugins/providers/anthropic/stream-to-openai';
import { OpenAiChatStreamFilter } from '../plugins/providers/openai/stream';
import { responsesRequestToChat } from '../plugins/providers/openai/responses/inbound-request';
import { ChatToResponsesStream } from '../plugins/providers/openai/responses/stream';
import { providerOptionsSchema } from '../plugins/providers/options';
import { PROVIDERS } from '../plugins/providers/registry';
import { sseDecoder } from '../plugins/providers/sse-decoder';
import type { ProviderTarget, StreamFilter } from '../plugins/providers/types';
import type { ChatChunk } from '../plugins/runtime/relay/stage';

const CHUNKS = 200;
const ITERATIONS = 300;
const SYSTEM = 'You are a support assistant for an online shop. Answer briefly, politely and in the customer\'s language. '.repeat(9);
const QUESTION = 'My order ORD-2024-118734 was charged twice last week; the second charge shows as pending. Can you check and refund it? '.repeat(3);
const ANSWER = 'I checked your order and the second charge is a pre-authorisation that will be released within three days. ';
const TOOL_SCHEMA = { type: 'object', properties: { order_id: { type: 'string', description: 'The order number' }, reason: { type: 'string' } }, required: ['order_id'] };

const target = (provider: string): ProviderTarget => ({
  provider,
  baseUrl: 'http://127.0.0.1:1/v1',
  apiKey: 'sk-bench',
  model: undefined,
  apiVersion: '2023-06-01',
  options: providerOptionsSchema.parse({}),
  timeouts: { connectMs: 1000, firstByteMs: 1000, idleMs: 1000 },
});

/** The same conversation in each client API (≈ 2 KB each). */
const requests = {
  openai: {
    model: 'm',
    stream: true,
    max_tokens: 512,
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: QUESTION },
      { role: 'assistant', content: ANSWER },
      { role: 'user', content: 'Thanks. Please also tell me when the refund of the first charge arrives.' },
    ],
    tools: [{ type: 'function', function: { name: 'refund_order', description: 'Refund an order', parameters: TOOL_SCHEMA } }],
  },
  anthropic: {
    model: 'm',
    stream: true,
    max_tokens: 512,
    system: SYSTEM,
    messages: [
      { role: 'user', content: QUESTION },
      { role: 'assistant', content: [{ type: 'text', text: ANSWER }] },
      { role: 'user', content: [{ type: 'text', text: 'Thanks. Please also tell me when the refund of the first charge arrives.' }] },
    ],
    tools: [{ name: 'refund_order', description: 'Refund an order', input_schema: TOOL_SCHEMA }],
  },
  responses: {
    model: 'm',
    stream: true,
    max_output_tokens: 512,
    instructions: SYSTEM,
    input: [
      { role: 'user', content: [{ type: 'input_text', text: QUESTION }] },
      { role: 'assistant', content: [{ type: 'output_text', text: ANSWER, annotations: [] }] },
      { role: 'user', content: 'Thanks. Please also tell me when the refund of the first charge arrives.' },
    ],
    tools: [{ type: 'function', name: 'refund_order', description: 'Refund an order', parameters: TOOL_SCHEMA, strict: false }],
  },
};

const words = (n: number) => Array.from({ length: n }, (_, i) => ANSWER.split(' ')[i % 17] + ' ');

/** The provider's stream as it arrives: 200 SSE events, in 1 KB network reads. */
function openAiStreamBytes(): Buffer[] {
  const base = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'gpt-4o-mini', system_fingerprint: 'fp_b' };
  const frames: object[] = words(CHUNKS - 2).map((w) => ({ ...base, choices: [{ index: 0, delta: { content: w }, logprobs: null, finish_reason: null }], usage: null }));
  frames.push({ ...base, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }], usage: null });
  const usage = { ...base, choices: [], usage: { prompt_tokens: 500, completion_tokens: 198, total_tokens: 698 } };
  return reads([...frames, usage].map((f) => `data: ${JSON.stringify(f)}\n\n`).join('') + 'data: [DONE]\n\n');
}

function anthropicStreamBytes(): Buffer[] {
  const frame = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  let text = frame('message_start', { message: { id: 'msg_bench', type: 'message', role: 'assistant', model: 'claude-x', content: [], stop_reason: null, usage: { input_tokens: 500, output_tokens: 1 } } });
  text += frame('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
  for (const w of words(CHUNKS - 5)) text += frame('content_block_delta', { index: 0, delta: { type: 'text_delta', text: w } });
  text += frame('content_block_stop', { index: 0 });
  text += frame('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 195 } });
  return reads(text + frame('message_stop', {}));
}

function reads(text: string): Buffer[] {
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 1024) out.push(bytes.subarray(at, at + 1024));
  return out;
}

/** What relayStream does with each provider event when the client's format differs: chunks, then the client's frames. */
function translateStream(bytes: Buffer[], filter: StreamFilter, write: (c: ChatChunk) => string, end: () => string): number {
  let written = 0;
  const decoder = sseDecoder();
  const onEvent = (data: string, event: string | undefined) => {
    const out = filter.onEvent(data, event);
    if (out.chunks) for (const c of out.chunks) written += write(c).length;
    else if (out.forward && data !== '[DONE]') written += write(JSON.parse(data) as ChatChunk).length;
  };
  for (const b of bytes) decoder.feed(b, onEvent);
  decoder.end(onEvent);
  return written + end().length;
}

/** OpenAI → OpenAI without stages: the frames the filter forwards go out as they are. */
function passStream(bytes: Buffer[], filter: StreamFilter): number {
  let written = 0;
  const decoder = sseDecoder();
  const onEvent = (data: string, event: string | undefined) => void (written += filter.onEvent(data, event).forward?.length ?? 0);
  for (const b of bytes) decoder.feed(b, onEvent);
  decoder.end(onEvent);
  return written;
}

const openai = PROVIDERS.openai;
const anthropic = PROVIDERS.anthropic;

interface Path {
  name: string;
  request(raw: string): string | undefined;
  stream(): number;
}

const openAiBytes = openAiStreamBytes();
const anthropicBytes = anthropicStreamBytes();
const raw = Object.fromEntries(Object.entries(requests).map(([k, v]) => [k, JSON.stringify(v)])) as Record<keyof typeof requests, string>;

const paths: (Path & { client: keyof typeof requests })[] = [
  {
    name: 'OpenAI client → OpenAI provider (no translation)',
    client: 'openai',
    request: (r) => openai.chatRequest(JSON.parse(r), target('openai')).request.body,
    stream: () => passStream(openAiBytes, new OpenAiChatStreamFilter(false)),
  },
  {
    name: 'OpenAI client → Anthropic provider',
    client: 'openai',
    request: (r) => anthropic.chatRequest(JSON.parse(r), target('anthropic')).request.body,
    stream: () => translateStream(anthropicBytes, new AnthropicToOpenAiStream(false), (c) => `data: ${JSON.stringify(c)}\n\n`, () => 'data: [DONE]\n\n'),
  },
  {
    name: 'Anthropic client → OpenAI provider',
    client: 'anthropic',
    request: (r) => openai.chatRequest(anthropicRequestToOpenAi(JSON.parse(r)).body, target('openai')).request.body,
    stream: () => {
      const out = new OpenAiToAnthropicStream('m', () => undefined);
      return translateStream(openAiBytes, new OpenAiChatStreamFilter(false), (c) => out.chunk(c), () => out.end(undefined));
    },
  },
  {
    name: 'Responses client → OpenAI provider',
    client: 'responses',
    request: (r) => openai.chatRequest(responsesRequestToChat(JSON.parse(r)), target('openai')).request.body,
    stream: () => {
      const out = new ChatToResponsesStream('m', requests.responses);
      return translateStream(openAiBytes, new OpenAiChatStreamFilter(false), (c) => out.chunk(c), () => out.end(undefined));
    },
  },
];

/** CPU µs per call: the median of 5 rounds (other processes on the machine disturb single rounds). */
function cpuUsPer(iterations: number, fn: () => unknown): number {
  for (let i = 0; i < Math.ceil(iterations / 4); i++) fn(); // warm-up
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < iterations; i++) fn();
    const u = process.cpuUsage(start);
    rounds.push((u.user + u.system) / iterations);
  }
  return rounds.sort((a, b) => a - b)[2];
}

function main(): void {
  const rows = paths.map((p) => {
    const requestUs = cpuUsPer(ITERATIONS * 10, () => p.request(raw[p.client]));
    const streamUs = cpuUsPer(ITERATIONS, () => p.stream());
    return { path: p.name, request_bytes: raw[p.client].length, request_us: Math.round(requestUs), stream_chunks: CHUNKS, stream_us: Math.round(streamUs), per_chunk_us: +(streamUs / CHUNKS).toFixed(2) };
  });
  const pad = (s: string | number, n: number) => String(s).padStart(n);
  const lines = [
    `${'path'.padEnd(50)} ${pad('request', 10)} ${pad('stream', 10)} ${pad('per chunk', 10)}`,
    ...rows.map((r) => `${r.path.padEnd(50)} ${pad(`${r.request_us} µs`, 10)} ${pad(`${r.stream_us} µs`, 10)} ${pad(`${r.per_chunk_us} µs`, 10)}`),
  ];
  process.stdout.write(`CPU per request: a ${raw.openai.length}-byte request and its ${CHUNKS}-event stream\n${lines.join('\n')}\n`);
  const dir = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const machine = `${process.platform} ${process.arch}, node ${process.version}`;
  writeFileSync(join(dir, 'translation.json'), `${JSON.stringify({ date: new Date().toISOString(), machine, iterations_per_round: ITERATIONS, rounds: 5, results: rows }, null, 2)}\n`);
}

main();
