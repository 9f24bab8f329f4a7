import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PluginServerProcess } from '../support/kong-emulator/plugin-server-process';
import { eventually, FAKE_SERVER } from './helpers';

describe('PluginServerProcess (Kong pluginserver_timer)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ps-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps prefixed output lines, respawns after a crash (>= 1 s apart) and stops with SIGTERM', async () => {
    const socketPath = join(dir, 'a.sock');
    const spawnedAt = Date.now();
    const ps = PluginServerProcess.start({ name: 'fake', command: [process.execPath, FAKE_SERVER, 'serve', '--socket', socketPath], socketPath });
    try {
      await ps.waitForSocket();
      const firstPid = ps.pid!;
      await eventually(() => ps.lines.find((l) => l === `[fake:${firstPid}] fake plugin server listening on ${socketPath}`));
      ps.kill('SIGKILL');
      await ps.waitForRespawn(firstPid);
      expect(ps.restarts).toBe(1);
      expect(ps.pid).not.toBe(firstPid);
      expect(Date.now() - spawnedAt).toBeGreaterThanOrEqual(1_000); // next spawn >= 1 s after the previous one
      expect(ps.exits[0]).toMatchObject({ pid: firstPid, signal: 'SIGKILL' });
    } finally {
      await ps.stop();
    }
    // stopped by our SIGTERM: the fake's handler exits 0; a loaded machine may deliver it before the handler is set
    const last = ps.exits.at(-1)!;
    expect(last.code === 0 || last.signal === 'SIGTERM').toBe(true);
    expect(ps.running).toBe(false);
  });

  it('does not respawn a command that is not found (exit 127)', async () => {
    const socketPath = join(dir, 'b.sock');
    const ps = PluginServerProcess.start({ name: 'missing', command: [join(dir, 'no-such-binary')], socketPath });
    await eventually(() => (ps.exits.length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1_200));
    expect(ps.exits).toEqual([{ pid: undefined, code: 127, signal: null }]);
    expect(ps.restarts).toBe(0);
    await ps.stop();
  });
});
