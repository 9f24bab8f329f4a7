import { allQueues } from '../../../plugins/llm-proxy/routing/queue';
import { routingMetricsText } from '../../../plugins/llm-proxy/routing/metrics';
import { OpenAiMock } from '../../support/mock-providers/openai-mock';
import { RoutingGateway } from './support/gateway';

const until = async (check: () => boolean) => {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error('condition not reached');
};

/** Concurrency caps per target: waiting requests are served by priority class, and never wait (or pile up) forever. */
describe('llm-proxy routing: concurrency and priority', () => {
  const mock = new OpenAiMock({ apiKey: 'k' });
  let gw: RoutingGateway;
  const config = (queue: Record<string, unknown>) => ({
    provider: 'openai',
    base_url: `${mock.url}/v1`,
    auth: { api_key: 'k' },
    queue: { max_in_flight: 1, priority_header: 'x-priority', group_priorities: { realtime: 'high' }, ...queue },
  });
  const chat = (content: string) => ({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] });
  const depth = (priority: string) => allQueues()[0]?.depth(priority as 'high') ?? 0;

  beforeAll(async () => {
    await mock.start();
    gw = await RoutingGateway.start(config({}));
  });
  afterAll(async () => {
    await gw.stop();
    await mock.stop();
  });
  beforeEach(() => mock.reset());

  it('serves high-priority requests before low-priority ones under saturation', async () => {
    gw.configure(config({}));
    mock.setFault({ delayMs: 1_500 }, 1); // the blocker holds the only slot while the others queue
    const all: Promise<unknown>[] = [gw.call('/v1/chat/completions', chat('blocker'))];
    await until(() => mock.requests.length === 1);
    for (const n of [1, 2, 3]) all.push(gw.call('/v1/chat/completions', chat(`low ${n}`), { 'x-priority': 'low' }));
    await until(() => depth('low') === 3);
    expect(routingMetricsText()).toMatch(/llm_queue_depth\{target="[^"]+",priority="low"\} 3/);
    all.push(gw.call('/v1/chat/completions', chat('normal 1')));
    for (const n of [1, 2]) all.push(gw.call('/v1/chat/completions', chat(`high ${n}`), { 'x-priority': 'high' }));
    all.push(gw.call('/v1/chat/completions', chat('group high 3'), { 'x-test-consumer-groups': 'realtime' }));
    await until(() => depth('high') === 3 && depth('normal') === 1);
    const answers = (await Promise.all(all)) as { status: number }[];
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    const order = mock.requests.map((r) => (r.body as { messages: { content: string }[] }).messages[0].content);
    expect(order).toEqual(['blocker', 'high 1', 'high 2', 'group high 3', 'normal 1', 'low 1', 'low 2', 'low 3']);
  });

  it('answers 503 with Retry-After promptly when the queue wait times out, in the client\'s envelope', async () => {
    gw.configure(config({ queue_timeout_ms: 100 }));
    mock.setFault({ delayMs: 1_000 });
    const blocker = gw.call('/v1/chat/completions', chat('blocker'));
    await until(() => mock.requests.length === 1);
    const [openai, anthropic] = await Promise.all([
      gw.call('/v1/chat/completions', chat('waits')),
      gw.call('/v1/messages', { model: 'gpt-4o-mini', max_tokens: 10, messages: [{ role: 'user', content: 'waits too' }] }),
    ]);
    expect(openai.status).toBe(503);
    expect(openai.headers['retry-after']).toBe('1');
    expect(openai.json.error).toMatchObject({ code: 'queue_timeout', type: 'api_error' });
    expect(openai.json.error.message).toMatch(/waited 100 ms in the queue/);
    expect(openai.ms).toBeLessThan(700);
    expect(anthropic.status).toBe(503);
    expect(anthropic.json).toMatchObject({ type: 'error', error: { type: 'api_error' } });
    expect((await blocker).status).toBe(200);
    expect(mock.requests).toHaveLength(1);
  });

  it('never lets the queue grow past max_queue: the excess is refused at once', async () => {
    gw.configure(config({ max_queue: 1, queue_timeout_ms: 5_000 }));
    mock.setFault({ delayMs: 300 });
    const blocker = gw.call('/v1/chat/completions', chat('blocker'));
    await until(() => mock.requests.length === 1);
    const queued = gw.call('/v1/chat/completions', chat('queued'));
    await until(() => depth('normal') === 1);
    const refused = await gw.call('/v1/chat/completions', chat('refused'));
    expect(refused.status).toBe(503);
    expect(refused.json.error.code).toBe('queue_full');
    expect(refused.ms).toBeLessThan(250);
    expect((await blocker).status).toBe(200);
    expect((await queued).status).toBe(200);
  });
});
