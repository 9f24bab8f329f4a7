import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import OpenAI from 'openai';
import { parse as parseYaml } from 'yaml';
import { llmProxySchema } from '../../plugins/llm-proxy/schema';
import { PLUGIN_NAMES } from '../../plugins/runtime/plugin-definition';

/**
 * The suite in a real Kong 3.9 (docker/Dockerfile + docker/docker-compose.yml, config spec/docker/kong.test.yaml).
 * Runs only where a Docker engine with compose v2 answers; elsewhere the describe is skipped with the reason in its
 * name. Set LLM_SKIP_DOCKER_TESTS=1 to skip it on a machine that has Docker.
 * The static checks of the packaging files at the end run everywhere.
 */

const PLUGINS: readonly string[] = PLUGIN_NAMES;
const CONSUMER_KEY = 'ck-team-a-test'; // key-auth credential of consumer team-a in kong.test.yaml
const REPO_ROOT = path.resolve(__dirname, '..', '..');
const COMPOSE_FILE = path.join(REPO_ROOT, 'docker', 'docker-compose.yml');
const TEST_CONFIG = path.join(__dirname, 'kong.test.yaml');
const PROJECT = `kong-llm-test-${process.pid}`;

const BUILD_TIMEOUT_MS = 15 * 60_000;
const UP_TIMEOUT_MS = 5 * 60_000;
const READY_TIMEOUT_MS = 90_000;
const DOWN_TIMEOUT_MS = 2 * 60_000;

function skipReason(): string | undefined {
  if (process.env.LLM_SKIP_DOCKER_TESTS) return 'LLM_SKIP_DOCKER_TESTS is set';
  const probe = (args: string[]) => spawnSync('docker', args, { stdio: 'ignore', timeout: 20_000 });
  const info = probe(['info']);
  if (info.error || info.status !== 0) return 'no Docker engine on this machine';
  const compose = probe(['compose', 'version']);
  if (compose.error || compose.status !== 0) return 'docker compose v2 is not installed';
  return undefined;
}

const reason = skipReason();
const describeWithDocker = reason ? describe.skip : describe;

describeWithDocker(reason ? `real Kong (skipped: ${reason})` : 'real Kong 3.9 with the suite (docker compose)', () => {
  let proxyUrl = '';
  let adminUrl = '';
  let composeEnv: NodeJS.ProcessEnv = {};

  const compose = (args: string[], timeoutMs: number) =>
    run('docker', ['compose', '-p', PROJECT, '-f', COMPOSE_FILE, ...args], { env: composeEnv, timeoutMs });

  beforeAll(async () => {
    const [proxyPort, adminPort] = [await freePort(), await freePort()];
    proxyUrl = `http://127.0.0.1:${proxyPort}`;
    adminUrl = `http://127.0.0.1:${adminPort}`;
    composeEnv = {
      ...process.env,
      KONG_LLM_DECLARATIVE_CONFIG: TEST_CONFIG,
      KONG_LLM_PROXY_PORT: String(proxyPort),
      KONG_LLM_ADMIN_PORT: String(adminPort),
      MOCK_OPENAI_API_KEY: 'sk-test', // the provider key llm-proxy is configured with in kong.test.yaml
    };

    const failWithLogs = async (message: string): Promise<never> => {
      const logs = await compose(['logs', '--no-color', '--tail', '150'], 60_000);
      throw new Error(`${message}\n--- docker compose logs ---\n${logs.output}`);
    };

    const build = await compose(['build'], BUILD_TIMEOUT_MS);
    if (build.code !== 0) throw new Error(`docker compose build failed (${build.summary})\n${build.output}`);
    const up = await compose(['up', '--detach', '--wait'], UP_TIMEOUT_MS);
    if (up.code !== 0) await failWithLogs(`docker compose up failed (${up.summary})\n${up.output}`);
    await waitUntil(READY_TIMEOUT_MS, async () => {
      const enabled = await enabledPlugins(adminUrl);
      return PLUGINS.every((name) => enabled.includes(name));
    }).catch((err: Error) => failWithLogs(err.message));
  }, BUILD_TIMEOUT_MS + UP_TIMEOUT_MS + READY_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    await compose(['down', '--volumes', '--remove-orphans', '--timeout', '10'], DOWN_TIMEOUT_MS);
  }, DOWN_TIMEOUT_MS + 10_000);

  const client = (headers: Record<string, string>) =>
    new OpenAI({
      apiKey: 'sk-client-key-kong-must-not-forward',
      baseURL: `${proxyUrl}/openai/v1`,
      defaultHeaders: headers,
      maxRetries: 0,
      timeout: 30_000,
      logLevel: 'off',
    });
  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Say hello to Kong' }];
  const expectedContent = '[demo upstream] Echo: Say hello to Kong';
  // mock token rule (spec/support/mock-providers/deterministic.ts): words; prompt 4, answer 7
  const expectedUsage = { prompt_tokens: 4, completion_tokens: 7, total_tokens: 11 };

  it('loads all five plugins from the one plugin server', async () => {
    expect(await enabledPlugins(adminUrl)).toEqual(expect.arrayContaining(PLUGINS));
  });

  it('proxies a chat completion through llm-proxy', async () => {
    const completion = await client({ apikey: CONSUMER_KEY }).chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(completion.choices[0]?.message.content).toBe(expectedContent);
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    expect(completion.usage).toMatchObject(expectedUsage);
  }, 60_000);

  it('streams a chat completion through llm-proxy, with the usage chunk when asked', async () => {
    const stream = await client({ apikey: CONSUMER_KEY }).chat.completions.create({
      model: 'gpt-4o-mini',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(expectedContent);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.at(-1)?.usage).toMatchObject(expectedUsage);
  }, 60_000);

  it('answers 401 without a consumer key, in the OpenAI error shape (key-auth anonymous + llm-proxy)', async () => {
    const error = await client({ authorization: 'Bearer not-a-consumer-key' }).chat.completions.create({ model: 'gpt-4o-mini', messages }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).status).toBe(401);
    expect((error as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe('invalid_api_key');
  }, 60_000);

  it('takes the consumer key as the SDK sends it (Authorization: Bearer), through the shipped pre-function snippet', async () => {
    const completion = await client({ authorization: `Bearer ${CONSUMER_KEY}` }).chat.completions.create({ model: 'gpt-4o-mini', messages });
    expect(completion.choices[0]?.message.content).toBe(expectedContent);
  }, 60_000);
});

describe('Kong packaging files (static checks, no Docker needed)', () => {
  const read = (relative: string) => readFileSync(path.join(REPO_ROOT, relative), 'utf8');

  it('tests with the same SDK-key snippet that kong/kong.yaml ships', () => {
    // the Lua block: from its marker line to the first line indented less than the marker
    const snippet = (yaml: string) => {
      const lines = yaml.split('\n');
      const first = lines.findIndex((l) => l.includes('-- kong-llm: sdk-keys'));
      const indent = (l: string) => l.length - l.trimStart().length;
      const block: string[] = [];
      for (const line of lines.slice(first)) {
        if (line.trim() !== '' && indent(line) < indent(lines[first])) break;
        block.push(line.trim());
      }
      return block.join('\n').trim();
    };
    const shipped = snippet(read('kong/kong.yaml'));
    expect(shipped).toContain('kong.service.request.set_header("apikey", key)');
    expect(snippet(read('spec/docker/kong.test.yaml'))).toBe(shipped);
  });
  const kongConf = parseKongConf(read('kong/kong.conf'));
  const dockerfile = read('docker/Dockerfile');
  const dockerEnv = dockerfileKongEnv(dockerfile);

  it('kong.conf declares the five plugins and, read as Kong reads it, five entries sharing one socket and one process', () => {
    const [first, ...ours] = (kongConf.plugins ?? '').split(',').map((p) => p.trim());
    expect(first).toBe('bundled');
    expect(ours.sort()).toEqual([...PLUGINS].sort());
    const servers = pluginServers(kongConf);
    expect(servers).toHaveLength(PLUGINS.length);
    const socket = servers[0]?.socket;
    expect(socket).toMatch(/^\/.*\.sock$/);
    expect(servers.every((s) => s.socket === socket)).toBe(true);
    expect(servers.map((s) => s.start)).toEqual([`/usr/local/bin/kong-llm serve --socket ${socket}`, ...servers.slice(1).map(() => undefined)]);
    const dumped = servers.map((s) => /^\/usr\/local\/bin\/kong-llm dump --plugin (\S+)$/.exec(s.query ?? '')?.[1]);
    expect([...dumped].sort()).toEqual([...PLUGINS].sort());
    expect(servers.map((s) => s.name)).toEqual(dumped.map((plugin) => plugin?.replace(/-/g, '_')));
    expect(nginxEnv(kongConf)).toEqual(expect.arrayContaining(['LLM_LOG_LEVEL', 'LLM_USAGE_SINKS', 'LLM_METRICS_PORT']));
  });

  it('the Dockerfile sets exactly kong.conf’s settings as KONG_* variables', () => {
    const fromConf = Object.fromEntries(
      Object.entries(kongConf).filter(([key]) => key === 'plugins' || key.startsWith('pluginserver_') || key === 'nginx_main_env'),
    );
    expect(dockerEnv).toEqual(fromConf);
  });

  it('the kong-llm wrapper runs the compiled CLI with an absolute node path', () => {
    const wrapper = read('docker/kong-llm.sh');
    const match = /^exec \/usr\/local\/bin\/node \/opt\/kong-llm\/(dist\/\S+)\.js "\$@"$/m.exec(wrapper);
    expect(match?.[1]).toBe('dist/plugins/runtime/cli/main');
    expect(existsSync(path.join(REPO_ROOT, 'plugins/runtime/cli/main.ts'))).toBe(true);
    expect(dockerfile).toMatch(/^COPY docker\/kong-llm\.sh \/usr\/local\/bin\/kong-llm$/m);
    expect(dockerfile).toMatch(/^COPY --from=build \/usr\/local\/bin\/node \/usr\/local\/bin\/node$/m);
  });

  it('docker-compose runs Kong DB-less with Redis and the demo upstream, publishing ports on loopback only', () => {
    const composeFile = parseYaml(read('docker/docker-compose.yml')) as ComposeFile;
    const kong = composeFile.services.kong;
    expect(kong?.environment).toMatchObject({ KONG_DATABASE: 'off', KONG_DECLARATIVE_CONFIG: '/kong/kong.yaml' });
    expect(kong?.volumes).toContain('${KONG_LLM_DECLARATIVE_CONFIG:-../kong/kong.yaml}:/kong/kong.yaml:ro');
    expect(kong?.ports?.map((p) => p.replace(/\$\{[^}]*:-(\d+)\}/, '$1'))).toEqual(['127.0.0.1:8000:8000', '127.0.0.1:8001:8001']);
    expect(composeFile.services.redis?.image).toMatch(/^redis:7/);
    expect(composeFile.services.mock?.build?.target).toBe('demo-upstream');
    expect(dockerfile).toMatch(/^FROM \S+ AS demo-upstream$/m);
  });

  it('kong.test.yaml gives llm-proxy a config its schema accepts, aimed at the mock service', () => {
    const config = parseYaml(readFileSync(TEST_CONFIG, 'utf8')) as { services: Array<{ routes: Array<{ plugins: Array<{ name: string; config: unknown }> }> }> };
    const proxy = config.services.flatMap((s) => s.routes).flatMap((r) => r.plugins).find((p) => p.name === 'llm-proxy');
    expect(proxy?.config).toEqual({ provider: 'openai', base_url: 'http://mock:9100/v1', auth: { api_key: 'sk-test' }, anonymous_consumer: 'llm-anonymous' });
    const parsed = llmProxySchema.safeParse(proxy?.config);
    expect(parsed.error?.issues).toBeUndefined();
  });
});

interface ComposeFile {
  services: Record<string, { image?: string; environment?: Record<string, string>; volumes?: string[]; ports?: string[]; build?: { target?: string } }>;
}

/** kong.conf as Kong's loader sees it: `key = value` lines, `#` comments (unless escaped), keys lower-cased. */
function parseKongConf(text: string): Record<string, string> {
  const conf: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^\s*([A-Za-z0-9_]+)\s*=\s*(.*?)\s*$/.exec(line.replace(/\s*(?<!\\)#.*$/, ''));
    if (match) conf[match[1]!.toLowerCase()] = match[2]!;
  }
  return conf;
}

/** `ENV KONG_X="v"` lines of the Dockerfile, keyed as Kong maps them to kong.conf (strip KONG_, lower-case). */
function dockerfileKongEnv(dockerfile: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const match of dockerfile.matchAll(/^\s*(?:ENV\s+)?KONG_([A-Z0-9_]+)="([^"]*)"/gm)) env[match[1]!.toLowerCase()] = match[2]!;
  return env;
}

/** Kong's conf loader (3.9, kong/conf_loader/init.lua): names lower-cased, `-` → `_` in the keys. */
function pluginServers(conf: Record<string, string>) {
  return (conf.pluginserver_names ?? '').split(',').map((raw) => {
    const name = raw.trim().toLowerCase();
    const prefix = `pluginserver_${name.replace(/-/g, '_')}`;
    return {
      name,
      socket: conf[`${prefix}_socket`] ?? `/usr/local/kong/${name}.socket`,
      start: conf[`${prefix}_start_cmd`],
      query: conf[`${prefix}_query_cmd`],
    };
  });
}

/** Variables declared by `nginx_main_env = A; env B; env C`. */
function nginxEnv(conf: Record<string, string>): string[] {
  return (conf.nginx_main_env ?? '').split(/;\s*env\s+/).map((name) => name.replace(/;$/, '').trim());
}

interface RunResult {
  code: number | null;
  /** exit code or signal, for messages */
  summary: string;
  /** the last 20k characters of stdout+stderr */
  output: string;
}

/** Runs a command with a deadline (then SIGKILLs it); never throws. */
function run(command: string, args: string[], opts: { env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: REPO_ROOT, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const append = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-20_000);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    const finish = (code: number | null, summary: string) => {
      clearTimeout(timer);
      resolve({ code, summary: timedOut ? `timed out after ${opts.timeoutMs} ms` : summary, output });
    };
    child.on('error', (err) => finish(null, `could not start: ${err.message}`));
    child.on('close', (code, signal) => finish(timedOut ? null : code, signal ? `signal ${signal}` : `exit ${code}`));
  });
}

async function enabledPlugins(adminUrl: string): Promise<string[]> {
  const response = await fetch(`${adminUrl}/plugins/enabled`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET /plugins/enabled answered ${response.status}`);
  const body = (await response.json()) as { enabled_plugins?: string[] };
  return body.enabled_plugins ?? [];
}

/** Polls `check` every second until it returns true; errors count as "not yet". */
async function waitUntil(timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'condition never became true';
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  throw new Error(`not ready after ${timeoutMs} ms: ${lastError}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
