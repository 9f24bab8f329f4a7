import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PLUGINS } from '../../plugins/registry';
import { PluginServerProcess } from '../support/kong-emulator/plugin-server-process';
import { RpcConnection } from '../support/kong-emulator/rpc-client';
import { wrongValue } from './support/bodies';
import { assertProperty } from './support/property';
import { startPluginServerOnSocket } from '../support/plugin-server-socket';

/**
 * Property-based fuzzing of plugin configs as Kong hands them over (StartInstance with a JSON config): whatever
 * the config, the plugin server answers, stays up, keeps no event, and never logs a secret from a refused config.
 */
const SECRET = 'sk-config-fuzz-secret-Hh4t';

/** Dotted paths of every field in a plugin's default config (the fields a fuzzed config replaces). */
function fieldPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return prefix ? [prefix] : [];
  const own = prefix ? [prefix] : [];
  return own.concat(Object.entries(value).flatMap(([k, v]) => fieldPaths(v, prefix ? `${prefix}.${k}` : k)));
}

function withPath(config: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = structuredClone(config);
  const keys = path.split('.');
  let node: any = copy;
  for (const key of keys.slice(0, -1)) node = typeof node[key] === 'object' && node[key] !== null ? node[key] : (node[key] = {});
  if (value === undefined) delete node[keys.at(-1)!];
  else node[keys.at(-1)!] = value;
  return copy;
}

/** Every plugin's valid default config (llm-proxy needs a key), with a secret planted where secrets go. */
const plugins = PLUGINS.map((def) => {
  const raw = def.name === 'llm-proxy' ? { auth: { api_key: SECRET } } : {};
  const base = def.configSchema.parse(raw) as Record<string, unknown>;
  return { name: def.name, base, paths: fieldPaths(base) };
});

const fuzzedConfig = fc.constantFrom(...plugins).chain((plugin) =>
  fc.record({
    name: fc.constant(plugin.name),
    config: fc.oneof(
      fc
        .array(fc.tuple(fc.constantFrom(...plugin.paths), fc.oneof(wrongValue, fc.constant(undefined))), { minLength: 1, maxLength: 4 })
        .map((edits) => JSON.stringify({ __seq__: 1, ...edits.reduce((c, [p, v]) => withPath(c, p, v), plugin.base) })),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 50 }),
      fc.constantFrom('', '{', 'null', '[]', `{"auth":{"api_key":"${SECRET}"},"provider":7}`, '{"__proto__":{"polluted":true}}'),
    ),
  }),
);

describe('plugin config fuzzing through StartInstance (real plugin-server process)', () => {
  let dir: string;
  let server: PluginServerProcess;
  let conn: RpcConnection;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llm-cfg-fuzz-'));
    ({ server, conn } = await startPluginServerOnSocket(dir, { LLM_METRICS_PORT: 'off' }));
  });
  afterAll(async () => {
    conn?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers every config (an instance or a clear error), stays up, and leaks no secret to its log', async () => {
    const pid = server.pid;
    let started = 0;
    await assertProperty(
      fc.asyncProperty(fuzzedConfig, async ({ name, config }) => {
        const answer = await conn.call('plugin.StartInstance', { Name: name, Config: config }).then(
          (value) => ({ value }),
          (error: unknown) => ({ error: String(error) }),
        );
        if ('error' in answer) expect(answer.error).toMatch(/not valid JSON|config/);
        else {
          started++;
          expect(answer.value).toMatchObject({ Name: name, Id: expect.any(Number) });
        }
      }),
      400,
    );
    const status = (await conn.call('plugin.GetStatus', null)) as { Pid: number; Events: number; Instances: unknown[] };
    expect(status.Pid).toBe(pid);
    expect(server.pid).toBe(pid);
    expect(status.Events).toBe(0);
    expect(status.Instances.length).toBeGreaterThanOrEqual(started); // Kong may start as many as it wants
    expect(Object.prototype).not.toHaveProperty('polluted');
    const leaks = server.lines.filter((line) => line.includes(SECRET));
    expect(leaks).toEqual([]);
    // a valid config still starts after all that
    const good = await conn.call('plugin.StartInstance', { Name: 'llm-proxy', Config: JSON.stringify({ __seq__: 2, auth: { api_key: SECRET } }) });
    expect(good).toMatchObject({ Name: 'llm-proxy' });
  }, 60_000);
});
