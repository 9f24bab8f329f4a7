import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PluginServerProcess } from '../support/kong-emulator/plugin-server-process';
import { startPluginServerOnSocket } from '../support/plugin-server-socket';

/** LLM_PRELOAD_EMBEDDER: the plugin server loads the built-in model at start, before any instance exists. */
describe('LLM_PRELOAD_EMBEDDER', () => {
  const started: { server: PluginServerProcess; close(): void; dir: string }[] = [];
  afterEach(async () => {
    for (const s of started.splice(0)) {
      s.close();
      await s.server.stop();
      rmSync(s.dir, { recursive: true, force: true });
    }
  });

  const start = async (value: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'llm-preload-'));
    const { server, conn } = await startPluginServerOnSocket(dir, { LLM_PRELOAD_EMBEDDER: value, LLM_LOG_LEVEL: 'info', LLM_METRICS_PORT: 'off' });
    started.push({ server, close: () => conn.close(), dir });
    return server;
  };
  const waitForLine = async (server: PluginServerProcess, pattern: RegExp, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const line = server.lines.find((l) => pattern.test(l));
      if (line) return line;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no line matching ${pattern} within ${timeoutMs} ms`);
  };

  it('"builtin" loads the offline model when the server starts (512 dimensions), with no request and no instance', async () => {
    const server = await start('builtin');
    const line = await waitForLine(server, /built-in embedder preloaded/, 20_000);
    expect(line).toMatch(/"dimensions":512/);
  }, 30_000);

  it('any other value is ignored with a warning that says what is accepted', async () => {
    const server = await start('openai');
    expect(await waitForLine(server, /LLM_PRELOAD_EMBEDDER ignored/, 5_000)).toMatch(/only .{0,2}builtin.{0,2} can be preloaded/);
  });
});
