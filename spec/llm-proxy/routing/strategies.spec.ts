import { recordLatency } from '../../../plugins/llm-proxy/routing/latency';
import { resetBreakers } from '../../../plugins/llm-proxy/routing/breaker';
import { resetLatencies } from '../../../plugins/llm-proxy/routing/latency';
import { resetQueues } from '../../../plugins/llm-proxy/routing/queue';
import { candidateTargets, pickTarget, priorityOf } from '../../../plugins/llm-proxy/routing/router';
import { compileRoutingTable, type Route } from '../../../plugins/llm-proxy/routing/targets';
import { llmProxySchema } from '../../../plugins/llm-proxy/schema';
import { testExchange } from '../../support/exchange';
import { OpenAiMock } from '../../support/mock-providers/openai-mock';
import { RoutingGateway } from './support/gateway';

const target = (name: string, extra: Record<string, unknown> = {}) => ({ name, provider: 'openai', model: name, auth: { api_key: 'k' }, ...extra });

function routeOf(model: Record<string, unknown>): Route {
  resetBreakers();
  resetQueues();
  resetLatencies();
  return compileRoutingTable(llmProxySchema.parse({ auth: { api_key: 'k' }, models: [{ name: 'm', ...model }] })).logical.get('m')!;
}

const chat = (extra: Record<string, unknown> = {}) => testExchange({ model: 'm', messages: [{ role: 'user', content: 'hi' }], ...extra });

describe('routing strategies (decisions only)', () => {
  it('weighted 80/20 lands within ±3 points over 10,000 decisions', () => {
    const route = routeOf({ strategy: 'weighted', targets: [target('a', { weight: 80 }), target('b', { weight: 20 })] });
    const ex = chat();
    let a = 0;
    for (let i = 0; i < 10_000; i++) if (pickTarget(route, ex)!.name === 'a') a++;
    expect(Math.abs(a / 100 - 80)).toBeLessThanOrEqual(3);
  });

  it('latency sends most traffic to the faster target once both are measured, exploring a little', () => {
    const route = routeOf({ strategy: 'latency', exploration: 0.1, targets: [target('slow'), target('fast')] });
    const ex = chat();
    // unmeasured targets go first, so both get measured
    expect(pickTarget(route, ex, () => 0.5)!.name).toBe('slow');
    recordLatency(route.targets[0].key, false, 400, 0.3);
    expect(pickTarget(route, ex, () => 0.5)!.name).toBe('fast');
    recordLatency(route.targets[1].key, false, 50, 0.3);
    let fast = 0;
    for (let i = 0; i < 2_000; i++) if (pickTarget(route, ex)!.name === 'fast') fast++;
    expect(fast / 2_000).toBeGreaterThan(0.9); // 90% + half of the 10% exploration
    expect(fast / 2_000).toBeLessThan(1);
    // the slow one speeds up: the average follows within a few measures
    for (let i = 0; i < 10; i++) recordLatency(route.targets[0].key, false, 10, 0.3);
    expect(pickTarget(route, ex, () => 0.5)!.name).toBe('slow');
  });

  it('least_busy picks the target with the fewest requests in flight', async () => {
    const route = routeOf({ strategy: 'least_busy', targets: [target('a'), target('b')] });
    const release = await route.targets[0].queue.acquire('normal', 1000, new AbortController().signal);
    expect(pickTarget(route, chat())!.name).toBe('b');
    release();
    expect(pickTarget(route, chat())!.name).toBe('a');
  });

  it('cost picks the cheapest by configured prices, else by the catalog; unknown prices last', () => {
    const priced = routeOf({
      strategy: 'cost',
      targets: [target('dear', { prices: { input_per_1m: 5, output_per_1m: 15 } }), target('cheap', { prices: { input_per_1m: 0.1, output_per_1m: 0.4 } })],
    });
    expect(pickTarget(priced, chat())!.name).toBe('cheap');
    const catalog = routeOf({ strategy: 'cost', targets: [target('unknown-model-x'), target('gpt-4o'), target('gpt-4o-mini')] });
    expect(catalog.targets.map((t) => t.price !== undefined)).toEqual([false, true, true]);
    expect(pickTarget(catalog, chat())!.name).toBe('gpt-4o-mini');
  });

  it('rules pick the target list from headers, prompt length, tools and images', () => {
    const route = routeOf({
      targets: [target('general'), target('classifier'), target('long'), target('tools'), target('vision')],
      rules: [
        { header: 'x-task', equals: 'classification', targets: ['classifier'] },
        { has_images: true, targets: ['vision'] }, // before the length rule: an image counts many prompt tokens
        { prompt_tokens_over: 200, targets: ['long', 'general'] },
        { has_tools: true, targets: ['tools'] },
      ],
    });
    const names = (ex: ReturnType<typeof chat>) => candidateTargets(route, ex).map((t) => t.name);
    expect(names(chat())).toEqual(['general', 'classifier', 'long', 'tools', 'vision']);
    expect(names({ ...chat(), headers: { 'x-task': 'classification' } })).toEqual(['classifier']);
    expect(names({ ...chat(), headers: { 'x-task': 'summary' } })).toHaveLength(5);
    expect(names(chat({ messages: [{ role: 'user', content: 'word '.repeat(500) }] }))).toEqual(['long', 'general']);
    expect(names(chat({ tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] }))).toEqual(['tools']);
    const image = { role: 'user', content: [{ type: 'text', text: 'what is it' }, { type: 'image_url', image_url: { url: 'https://x.test/a.png' } }] };
    expect(names(chat({ messages: [image] }))).toEqual(['vision']);
  });

  it('rejects rules naming unknown targets and duplicate names in the config', () => {
    const parse = (model: Record<string, unknown>) => llmProxySchema.safeParse({ models: [{ name: 'm', ...model }] });
    expect(parse({ targets: [target('a')], rules: [{ has_tools: true, targets: ['b'] }] }).error?.message).toMatch(/does not have/);
    expect(parse({ targets: [target('a'), target('a')] }).error?.message).toMatch(/used twice/);
  });

  it('priority classes: a consumer group\'s class wins over the header; unknown header values are normal', () => {
    const queue = llmProxySchema.parse({ queue: { priority_header: 'x-priority', group_priorities: { realtime: 'high', batch: 'low' } } }).queue;
    const ex = (groups: string[], header?: string) => ({ identity: { consumerGroups: groups }, headers: header ? { 'x-priority': header } : {} });
    expect(priorityOf(ex(['batch', 'realtime']), queue)).toBe('high');
    expect(priorityOf(ex(['batch'], 'high'), queue)).toBe('low');
    expect(priorityOf(ex([], 'low'), queue)).toBe('low');
    expect(priorityOf(ex([], 'urgent!'), queue)).toBe('normal');
  });
});

describe('routing strategies end to end', () => {
  const fast = new OpenAiMock({ apiKey: 'k', reply: 'fast' });
  const slow = new OpenAiMock({ apiKey: 'k', reply: 'slow' });
  let gw: RoutingGateway;
  const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

  beforeAll(async () => {
    await Promise.all([fast.start(), slow.start()]);
    gw = await RoutingGateway.start({});
  });
  afterAll(async () => {
    await gw.stop();
    await Promise.all([fast.stop(), slow.stop()]);
  });

  const targets = (wFast: number, wSlow: number) => [
    target('fast', { base_url: `${fast.url}/v1`, weight: wFast }),
    target('slow', { base_url: `${slow.url}/v1`, weight: wSlow }),
  ];

  it('splits real traffic by weight', async () => {
    gw.configure({ auth: { api_key: 'k' }, models: [{ name: 'm', strategy: 'weighted', targets: targets(80, 20) }] });
    for (let i = 0; i < 200; i++) expect((await gw.call('/v1/chat/completions', body)).status).toBe(200);
    expect(fast.requests.length / 200).toBeGreaterThan(0.7);
    expect(fast.requests.length / 200).toBeLessThan(0.9);
  });

  it('latency routing moves most traffic to the faster target within a few requests', async () => {
    fast.reset();
    slow.reset();
    slow.setFault({ delayMs: 60 });
    gw.configure({ auth: { api_key: 'k' }, models: [{ name: 'm', strategy: 'latency', exploration: 0.05, targets: targets(1, 1) }] });
    for (let i = 0; i < 5; i++) await gw.call('/v1/chat/completions', body); // warm-up: both get measured
    fast.reset();
    slow.requests.length = 0;
    for (let i = 0; i < 60; i++) expect((await gw.call('/v1/chat/completions', body)).status).toBe(200);
    expect(fast.requests.length).toBeGreaterThanOrEqual(50);
  });
});
