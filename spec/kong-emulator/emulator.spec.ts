import http from 'node:http';
import { KongEmulator } from '../support/kong-emulator/emulator';
import { config, fakeServerOptions, startUpstream, startWithFake, traceDir, type TraceEntry } from './helpers';

type Upstream = Awaited<ReturnType<typeof startUpstream>>;

const script = (route: string, path: string, access: unknown[], log: unknown[] = [], extra = '') => `
      - name: ${route}
        paths: [${path}]${extra}
        plugins:
          - name: fake-script
            config: ${JSON.stringify({ access, log })}`;

function yaml(upstream: Upstream): string {
  return `
_format_version: "3.0"
services:
  - name: echo
    url: ${upstream.url}/base
    routes:
${script('open', '/open', [])}
${script('multimap', '/multimap', [
  { pdk: 'kong.request.get_headers' },
  { pdk: 'kong.request.get_query' },
  { pdk: 'kong.request.get_raw_body' },
  { pdk: 'kong.router.get_route' },
  { pdk: 'kong.request.get_header', args: ['x-missing'] },
  { pdk: 'kong.nope.method' },
])}
${script('exit', '/exit', [{ pdk: 'kong.response.exit', args: [403, { error: 'denied' }, { 'X-Exit': '1' }] }, { pdk: 'kong.request.get_headers' }])}
${script('error', '/error', [{ pdk: 'kong.response.error', args: [429] }])}
${script('luaerror', '/luaerror', [{ pdk: 'kong.response.get_status' }, { pdk: 'kong.request.get_headers' }])}
${script('forget', '/forget', [{ forgetInstance: true }])}
${script('retarget', '/retarget', [
  { pdk: 'kong.service.set_target', args: ['127.0.0.1', upstream.port] },
  { pdk: 'kong.service.request.set_path', args: ['/elsewhere'] },
  { pdk: 'kong.service.request.set_raw_query', args: ['z=1'] },
  { pdk: 'kong.service.request.set_header', args: ['X-Added', '1'] },
])}
${script(
  'serialize',
  '/serialize',
  [
    { pdk: 'kong.log.set_serialize_value', args: ['ai.proxy.usage.prompt_tokens', 10] },
    { pdk: 'kong.log.set_serialize_value', args: ['request.method', 'X', { mode: 'add' }] },
    { pdk: 'kong.log.set_serialize_value', args: ['request.method', 'PATCH', { mode: 'replace' }] },
    { pdk: 'kong.ctx.shared.set', args: ['k', 'v'] },
  ],
  [
    { pdk: 'kong.log.serialize' },
    { pdk: 'kong.ctx.shared.get', args: ['k'] },
    { pdk: 'kong.request.get_header', args: ['authorization'] },
    { pdk: 'kong.response.get_status' },
    { pdk: 'kong.log.set_serialize_value', args: ['late', 1] },
  ],
)}
      - name: stream
        paths: [/stream]
      - name: auth
        paths: [/auth]
        plugins:
          - name: key-auth
            config: { hide_credentials: true }
  - name: dead
    url: http://127.0.0.1:1/
    retries: 0
    routes:
      - { name: dead, paths: [/dead] }
  - name: slow
    url: ${upstream.url}/
    read_timeout: 200
    retries: 0
    routes:
      - { name: slow, paths: [/slow] }
consumers:
  - username: alice
    custom_id: a-1
    keyauth_credentials: [{ key: alice-key }]
    plugins:
      - name: fake-low
        config: { access: [{ pdk: kong.service.request.set_header, args: [X-Low, consumer-scoped] }] }
  - username: bob
    keyauth_credentials: [{ key: bob-key }]
`;
}

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(base: string, path: string, init: { method?: string; headers?: Record<string, string | string[]>; body?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Trace messages the fake server received after `from` (index in the trace). */
const received = (entries: TraceEntry[], from = 0) => entries.slice(from).filter((e) => e.in).map((e) => e.in!);

describe('Kong emulator with the fake plugin server (1 worker)', () => {
  let upstream: Upstream;
  let emulator: KongEmulator;
  const trace = traceDir();

  beforeAll(async () => {
    upstream = await startUpstream();
    emulator = await startWithFake(yaml(upstream), trace.file, { workers: 1 });
  });

  afterAll(async () => {
    await emulator?.stop();
    await upstream?.close();
    trace.cleanup();
  });

  it('answers 404 with Kong\'s message when no route matches', async () => {
    const res = await request(emulator.url, '/nowhere');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toEqual({ message: 'no Route matched with those values', request_id: res.headers['x-kong-request-id'] });
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers.server).toBe('kong/3.9.0');
  });

  it('proxies to service path + stripped remainder with Kong\'s forwarding and response headers', async () => {
    const before = upstream.seen.length;
    const res = await request(emulator.url, '/open/x/y?q=1', { headers: { 'x-forwarded-for': '10.0.0.1' } });
    expect(res.status).toBe(200);
    expect(res.headers['x-upstream']).toBe('yes');
    expect(res.headers.via).toBe('1.1 kong/3.9.0');
    expect(res.headers['x-kong-upstream-latency']).toMatch(/^\d+$/);
    expect(res.headers['x-kong-proxy-latency']).toMatch(/^\d+$/);
    const seen = upstream.seen[before];
    expect(seen.url).toBe('/base/x/y?q=1');
    expect(seen.headers.host).toBe(`127.0.0.1:${upstream.port}`);
    expect(seen.headers['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(seen.headers['x-forwarded-prefix']).toBe('/open');
    expect(seen.headers['x-forwarded-path']).toBe('/open/x/y');
    expect(seen.headers['x-real-ip']).toBe('127.0.0.1');
    expect(seen.headers['x-kong-request-id']).toBe(res.headers['x-kong-request-id']);
  });

  it('replies with the first value only and applies StepMultiMap / bin / StepRoute fixups', async () => {
    await emulator.waitForLogTimers();
    const from = trace.read().length;
    const res = await request(emulator.url, '/multimap?a=1&a=2&flag&e=', {
      method: 'POST',
      headers: { 'x-multi': ['1', '2'], 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(res.status).toBe(200);
    const entries = trace.read().slice(from);
    const steps = received(entries).map(([, method]) => method).filter((m) => m.startsWith('plugin.Step'));
    expect(steps).toEqual(['plugin.StepMultiMap', 'plugin.StepMultiMap', 'plugin.Step', 'plugin.StepRoute', 'plugin.Step', 'plugin.Step']);
    const values = entries.find((e) => e.results?.phase === 'access')!.results!.values;
    expect((values[0] as Record<string, unknown>)['x-multi']).toEqual(['1', '2']);
    expect((values[0] as Record<string, unknown>)['content-type']).toEqual(['text/plain']);
    expect(values[1]).toEqual({ a: ['1', '2'], flag: [], e: [''] });
    expect(values[2]).toEqual({ bin: Buffer.from('hello').toString('base64') });
    expect(values[3]).toMatchObject({ name: 'multimap', paths: ['/multimap'], strip_path: true, preserve_host: false });
    expect(values[4]).toBeNull();
    expect(values[5]).toBeNull();
    expect(emulator.errorLog.find('could not find pdk method: kong.nope.method')).toHaveLength(1);
  });

  it('ends the event at kong.response.exit: JSON body, headers, no further Step, no upstream call', async () => {
    const before = upstream.seen.length;
    const res = await request(emulator.url, '/exit');
    expect(res.status).toBe(403);
    expect(res.body).toBe('{"error":"denied"}');
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.headers['x-exit']).toBe('1');
    expect(res.headers['x-kong-response-latency']).toMatch(/^\d+$/);
    expect(upstream.seen.length).toBe(before);
    const rpc = emulator.rpcStatsFor(String(res.headers['x-kong-request-id']))!;
    await emulator.waitForLogTimers();
    expect(rpc.byMethod['plugin.HandleEvent']).toBe(2); // access, then the log phase (which runs after an exit too)
    expect(Object.keys(rpc.byMethod).filter((m) => m.startsWith('plugin.Step'))).toEqual([]);
    expect(rpc.byPdkMethod).toEqual({ 'kong.response.exit': 1 });
  });

  it('kong.response.error formats the default message as the Accept header asks', async () => {
    const json = await request(emulator.url, '/error');
    expect(json.status).toBe(429);
    expect(JSON.parse(json.body).message).toBe('Too many requests');
    const plain = await request(emulator.url, '/error', { headers: { accept: 'text/plain' } });
    expect(plain.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(plain.body).toBe(`Too many requests\nrequest_id: ${plain.headers['x-kong-request-id']}\n`);
  });

  it('turns a Lua error inside a PDK call in access into 500 and never steps the event again', async () => {
    const res = await request(emulator.url, '/luaerror');
    expect(res.status).toBe(500);
    expect(res.body).toBe('{"message":"An unexpected error occurred"}');
    expect(emulator.errorLog.find('function cannot be called in access phase (only in: response, header_filter, body_filter, log')).not.toHaveLength(0);
    const rpc = emulator.rpcStatsFor(String(res.headers['x-kong-request-id']))!;
    expect(Object.keys(rpc.byMethod).filter((m) => m.startsWith('plugin.Step'))).toEqual([]);
  });

  it('restarts the instance and retries the event after "no plugin instance"', async () => {
    await emulator.waitForLogTimers(); // the earlier tests' log phases must not land in this test's trace
    const from = trace.read().length;
    const first = await request(emulator.url, '/forget'); // the access event makes the server drop the instance
    expect(first.status).toBe(200);
    await emulator.waitForLogTimers();
    const methods = received(trace.read(), from).map(([, m]) => m);
    // access; then the log timer: HandleEvent → "no plugin instance" → reset, StartInstance, HandleEvent again
    expect(methods).toEqual(['plugin.StartInstance', 'plugin.HandleEvent', 'plugin.HandleEvent', 'plugin.StartInstance', 'plugin.HandleEvent']);
    expect(emulator.errorLog.entries.some((e) => e.level === 'warn' && /no plugin instance #\d+/.test(e.message))).toBe(true);
  });

  it('proxies where the plugin pointed: set_target, set_path, set_raw_query, set_header', async () => {
    const before = upstream.seen.length;
    const res = await request(emulator.url, '/retarget/ignored?old=1');
    expect(res.status).toBe(200);
    const seen = upstream.seen[before];
    expect(seen.url).toBe('/elsewhere?z=1');
    expect(seen.headers['x-added']).toBe('1');
    expect(seen.headers.host).toBe('127.0.0.1');
  });

  it('records the serialize() record with set_serialize_value edits; the log phase sees saved data only', async () => {
    const res = await request(emulator.url, '/serialize/p', { headers: { authorization: 'Bearer secret-token' } });
    expect(res.status).toBe(200);
    await emulator.waitForLogTimers();
    const record = emulator.logs.find((r) => (r.request as { id: string }).id === res.headers['x-kong-request-id'])!;
    expect(record).toMatchObject({
      ai: { proxy: { usage: { prompt_tokens: 10 } } },
      request: { method: 'PATCH', uri: '/serialize/p', headers: { authorization: 'REDACTED' } },
      upstream_uri: '/base/p',
      response: { status: 200 },
      route: { name: 'serialize' },
      service: { name: 'echo' },
      source: 'upstream',
      workspace_name: 'default',
    });
    expect(record.latencies).toEqual({ kong: expect.any(Number), proxy: expect.any(Number), request: expect.any(Number), receive: expect.any(Number) });
    expect(record).not.toHaveProperty('late');
    const logResults = trace.read().find((e) => e.results?.phase === 'log' && typeof e.results.values[0] === 'string')!.results!.values;
    expect(JSON.parse(logResults[0] as string)).toMatchObject({ ai: { proxy: { usage: { prompt_tokens: 10 } } } });
    expect(logResults.slice(1, 4)).toEqual(['v', 'Bearer secret-token', 200]);
  });

  it('buffers an SSE response until it ends unless the upstream sent X-Accel-Buffering: no', async () => {
    const firstChunkAfter = (path: string) =>
      new Promise<{ ms: number; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
        const started = Date.now();
        http
          .get(`${emulator.url}${path}`, (res) => {
            res.once('data', () => resolve({ ms: Date.now() - started, headers: res.headers }));
            res.resume();
          })
          .on('error', reject);
      });
    const buffered = await firstChunkAfter('/stream/sse');
    const streamed = await firstChunkAfter('/stream/sse?accel=no');
    expect(buffered.ms).toBeGreaterThanOrEqual(400);
    expect(streamed.ms).toBeLessThan(buffered.ms - 200);
    expect(streamed.headers['x-accel-buffering']).toBeUndefined();
  });

  it('answers 502 on connection failure and 504 on upstream read timeout', async () => {
    const dead = await request(emulator.url, '/dead');
    expect(dead.status).toBe(502);
    expect(JSON.parse(dead.body).message).toBe('An invalid response was received from the upstream server');
    const slow = await request(emulator.url, '/slow/slow');
    expect(slow.status).toBe(504);
    expect(JSON.parse(slow.body).message).toBe('The upstream server is timing out');
  });

  describe('key-auth (Kong 3.9 behaviour)', () => {
    it('rejects a request without a key', async () => {
      const res = await request(emulator.url, '/auth');
      expect(res.status).toBe(401);
      expect(JSON.parse(res.body).message).toBe('No API key found in request');
      expect(res.headers['www-authenticate']).toBe('Key');
    });

    it('rejects an unknown key and a duplicated key', async () => {
      const bad = await request(emulator.url, '/auth', { headers: { apikey: 'nope' } });
      expect(bad.status).toBe(401);
      expect(JSON.parse(bad.body).message).toBe('Unauthorized');
      const dup = await request(emulator.url, '/auth?apikey=a&apikey=b');
      expect(JSON.parse(dup.body).message).toBe('Duplicate API key found');
    });

    it('authenticates, sets consumer headers, hides the key and then runs consumer-scoped plugins', async () => {
      const before = upstream.seen.length;
      const res = await request(emulator.url, '/auth/x?apikey=alice-key');
      expect(res.status).toBe(200);
      const seen = upstream.seen[before];
      expect(seen.url).toBe('/base/x');
      expect(seen.headers['x-consumer-username']).toBe('alice');
      expect(seen.headers['x-consumer-custom-id']).toBe('a-1');
      expect(seen.headers['x-consumer-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen.headers['x-credential-identifier']).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen.headers['x-anonymous-consumer']).toBeUndefined();
      expect(seen.headers['x-low']).toBe('consumer-scoped');

      const bob = await request(emulator.url, '/auth', { headers: { apikey: 'bob-key' } });
      expect(bob.status).toBe(200);
      expect(upstream.seen[before + 1].headers.apikey).toBeUndefined();
      expect(upstream.seen[before + 1].headers['x-low']).toBeUndefined();
      const record = emulator.logs.find((r) => (r.request as { id: string }).id === bob.headers['x-kong-request-id'])!;
      expect(record.consumer).toMatchObject({ username: 'bob' });
      expect(record.authenticated_entity).toEqual({ id: expect.any(String), consumer_id: (record.consumer as { id: string }).id });
    });
  });
});

describe('Kong emulator workers, timeouts and start-up checks', () => {
  let upstream: Upstream;
  const trace = traceDir();

  beforeAll(async () => {
    upstream = await startUpstream();
  });

  afterAll(async () => {
    await upstream?.close();
    trace.cleanup();
  });

  it('keeps instances and msgid counters per worker, and restarts instances after a config rebuild', async () => {
    const emulator = await startWithFake(yaml(upstream), trace.file, { workers: 2 });
    try {
      const from = trace.read().length;
      for (let i = 0; i < 3; i++) expect((await request(emulator.url, '/open')).status).toBe(200);
      const starts = received(trace.read(), from).filter(([, m]) => m === 'plugin.StartInstance');
      expect(starts).toHaveLength(2); // one per worker; the third request reuses worker 0's instance
      expect(starts.map(([id]) => id)).toEqual([1, 1]); // each worker's Rpc numbers its own messages
      const ids = starts.map(([, , arg]) => JSON.parse((arg as { Config: string }).Config).__plugin_id);
      expect(ids[0]).toBe(ids[1]);

      await emulator.waitForLogTimers(); // the last request's log phase must not land after the mark
      await new Promise((r) => setTimeout(r, 50)); // the fake server writes its trace after answering
      emulator.rebuildPluginConfigs();
      const afterRebuild = trace.read().length;
      expect((await request(emulator.url, '/open')).status).toBe(200);
      const methods = received(trace.read(), afterRebuild).map(([, m]) => m);
      expect(methods.slice(0, 3)).toEqual(['plugin.StartInstance', 'plugin.CloseInstance', 'plugin.HandleEvent']);
    } finally {
      await emulator.stop();
    }
  });

  it('survives a plugin-server crash: Kong respawns it and restarts instances on the new process', async () => {
    const emulator = await startWithFake(yaml(upstream), trace.file, { workers: 1 });
    try {
      expect((await request(emulator.url, '/open')).status).toBe(200);
      await emulator.waitForLogTimers();
      const oldPid = emulator.pluginServer!.pid;
      emulator.pluginServer!.kill('SIGKILL');
      await emulator.pluginServer!.waitForRespawn(oldPid);
      const from = trace.read().length;
      expect((await request(emulator.url, '/open')).status).toBe(200);
      await emulator.waitForLogTimers();
      const fresh = trace.read().slice(from).filter((e) => e.in && e.pid === emulator.pluginServer!.pid);
      expect(fresh.map((e) => e.in![1]).slice(0, 3)).toEqual(['plugin.HandleEvent', 'plugin.StartInstance', 'plugin.HandleEvent']);
      expect(emulator.pluginServer!.restarts).toBe(1);
    } finally {
      await emulator.stop();
    }
  });

  it('hands StartInstance the config with schema defaults and Kong\'s extra keys', async () => {
    const emulator = await startWithFake(yaml(upstream), trace.file, { workers: 1 });
    try {
      const from = trace.read().length;
      await request(emulator.url, '/open');
      const [, , arg] = received(trace.read(), from).find(([, m]) => m === 'plugin.StartInstance')!;
      const conf = JSON.parse((arg as { Config: string }).Config);
      expect(conf).toMatchObject({ message: 'hello', limits: { rpm: 60 }, labels: {}, access: [], __ws_id: expect.any(String) });
      expect(conf.__key__).toBe(`plugins:fake-script:${conf.route_id}::::${conf.__ws_id}`);
      expect(typeof conf.__seq__).toBe('number');
      expect(conf).not.toHaveProperty('optional');
      expect(conf).not.toHaveProperty('service_id');
    } finally {
      await emulator.stop();
    }
  });

  it('buffers the upstream response for a plugin with a response handler and runs it with the service response', async () => {
    const cfg = `
_format_version: "3.0"
services:
  - name: echo
    url: ${upstream.url}
    routes:
      - name: buffered
        paths: [/buffered]
        plugins:
          - name: fake-buffered
            config: ${JSON.stringify({
              response: [
                { pdk: 'kong.service.response.get_status' },
                { pdk: 'kong.service.response.get_raw_body' },
                { pdk: 'kong.response.set_header', args: ['X-Resp', 'seen'] },
              ],
            })}
`;
    const emulator = await startWithFake(cfg, trace.file, { workers: 1 });
    try {
      const res = await request(emulator.url, '/buffered/x');
      expect(res.status).toBe(200);
      expect(res.headers['x-resp']).toBe('seen');
      expect(JSON.parse(res.body)).toEqual({ ok: true, path: '/x' });
      const values = trace.read().find((e) => e.results?.phase === 'response')!.results!.values;
      expect(values[0]).toBe(200);
      expect(Buffer.from((values[1] as { bin: string }).bin, 'base64').toString()).toBe(res.body);
    } finally {
      await emulator.stop();
    }
  });

  it('reads every plugin from one dump output in Kong 3.8 mode', async () => {
    const cfg = `
_format_version: "3.0"
services:
  - name: echo
    url: ${upstream.url}
    routes:
      - name: r
        paths: [/r]
        plugins:
          - { name: fake-low }
          - { name: fake-script }
`;
    const emulator = await startWithFake(cfg, trace.file, { workers: 1, kongVersion: '3.8' });
    try {
      expect(emulator.plugins.map((p) => [p.name, p.priority])).toEqual([
        ['fake-script', 1000],
        ['fake-low', 10],
      ]);
      expect((await request(emulator.url, '/r')).status).toBe(200);
    } finally {
      await emulator.stop();
    }
  });

  it('ends a phase silently after the read timeout ("no data") and proxies anyway', async () => {
    const cfg = `
_format_version: "3.0"
services:
  - name: echo
    url: ${upstream.url}
    routes:
${script('sleepy', '/sleepy', [{ sleepMs: 600 }, { pdk: 'kong.service.request.set_header', args: ['X-Late', '1'] }])}
`;
    const emulator = await startWithFake(cfg, trace.file, { workers: 1, stepTimeoutMs: 200 });
    try {
      const before = upstream.seen.length;
      const res = await request(emulator.url, '/sleepy');
      expect(res.status).toBe(200);
      expect(upstream.seen[before].headers['x-late']).toBeUndefined();
      expect(emulator.errorLog.find('no data')).not.toHaveLength(0);
    } finally {
      await emulator.stop();
    }
  });

  it('refuses to start with a bundled plugin it does not emulate, or a query command that prints noise', async () => {
    const bundled = config(`
_format_version: "3.0"
plugins:
  - name: rate-limiting
    config: { minute: 1 }
`);
    await expect(KongEmulator.start({ config: bundled, pluginServer: false })).rejects.toThrow(/bundled plugin "rate-limiting" is not emulated/);

    const noisy = config(`
_format_version: "3.0"
plugins:
  - name: fake-script
`);
    await expect(
      KongEmulator.start({
        config: noisy,
        pluginServer: { ...fakeServerOptions(trace.file), queryCommand: () => [process.execPath, '-e', 'console.log("warn: x"); console.log("[]")'] },
      }),
    ).rejects.toThrow(/failed decoding plugin info/);
  });
});
