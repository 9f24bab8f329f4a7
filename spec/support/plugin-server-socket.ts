import { join } from 'node:path';
import { PluginServerProcess } from './kong-emulator/plugin-server-process';
import { RpcConnection } from './kong-emulator/rpc-client';

/** The built CLI (global-setup builds dist/ before the tests). */
export const SUITE_CLI = join(__dirname, '..', '..', 'dist', 'plugins', 'runtime', 'cli', 'main.js');

/** The real plugin-server process serving on `<dir>/llm.sock`, and an RPC connection to it as Kong would hold. */
export async function startPluginServerOnSocket(dir: string, env: Record<string, string>) {
  const socketPath = join(dir, 'llm.sock');
  const server = PluginServerProcess.start({ name: 'llm', command: [process.execPath, SUITE_CLI, 'serve', '--socket', socketPath], env, socketPath });
  await server.waitForSocket();
  const conn = await RpcConnection.connect(socketPath);
  return { socketPath, server, conn };
}
