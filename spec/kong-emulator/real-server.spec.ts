import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { KongEmulator } from '../support/kong-emulator/emulator';
import { config, startUpstream } from './helpers';

const CLI = join(__dirname, '..', '..', 'dist', 'plugins', 'runtime', 'cli', 'main.js');
const describeIfBuilt = existsSync(CLI) ? describe : describe.skip;

describeIfBuilt('Kong emulator smoke test with the real plugin server (skipped when dist/ is not built)', () => {
  let upstream: Awaited<ReturnType<typeof startUpstream>>;
  let emulator: KongEmulator;

  beforeAll(async () => {
    upstream = await startUpstream();
    emulator = await KongEmulator.start({
      config: config(`
_format_version: "3.0"
services:
  - name: llm
    url: http://127.0.0.1:1/
    routes:
      - name: chat
        paths: [/v1]
        strip_path: false
        plugins:
          - name: key-auth
          - name: llm-proxy
            config: { provider: openai-compatible, base_url: "${upstream.url}/v1", auth: { api_key: "{vault://env/smoke-provider-key}" } }
consumers:
  - username: team-a
    keyauth_credentials: [{ key: smoke-client-key }]
`),
      env: { SMOKE_PROVIDER_KEY: 'provider-secret' },
      workers: 2,
    });
  });

  afterAll(async () => {
    await emulator?.stop();
    await upstream?.close();
  });

  const chat = (headers: Record<string, string>) =>
    fetch(`${emulator.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('loads the plugin from `dump --plugin`, rejects unauthenticated calls before any RPC, and proxies through the plugin', async () => {
    expect(emulator.plugins.map((p) => p.name)).toEqual(['key-auth', 'llm-proxy']);
    const anonymous = await chat({});
    expect(anonymous.status).toBe(401);
    expect(emulator.rpcStatsFor(anonymous.headers.get('x-kong-request-id')!)?.total).toBe(0);

    for (let i = 0; i < 2; i++) {
      const before = upstream.seen.length;
      const res = await chat({ apikey: 'smoke-client-key' });
      expect(res.status).toBe(200);
      const seen = upstream.seen[before];
      expect(seen.method).toBe('POST');
      expect(seen.url).toBe('/v1/chat/completions');
      expect(seen.headers.authorization).toBe('Bearer provider-secret');
      expect(seen.headers.apikey).toBeUndefined();
      const rpc = emulator.rpcStatsFor(res.headers.get('x-kong-request-id')!)!;
      expect(rpc.byMethod['plugin.HandleEvent']).toBe(1);
    }
    await emulator.waitForLogTimers();
    expect(emulator.errorLog.entries.filter((e) => e.level === 'err')).toEqual([]);
    expect(emulator.rpcStats.byMethod['plugin.StartInstance']).toBe(2); // one instance per worker
  });
});
