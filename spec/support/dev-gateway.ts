/**
 * The README's first command (scripts/gateway): a local gateway on 127.0.0.1 — the Kong emulator in front of the
 * real plugin-server process, configured by kong/kong.yaml. With OPENAI_API_KEY set, requests go to OpenAI;
 * otherwise to a local DEMO upstream (the OpenAI mock, whose answers start with "[demo upstream]").
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { KongEmulator } from './kong-emulator/emulator';
import { OpenAiMock } from './mock-providers/openai-mock';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { config: { type: 'string' }, port: { type: 'string' } },
  });
  const root = join(__dirname, '..', '..', '..');
  const config = values.config ?? join(root, 'kong', 'kong.yaml');
  const port = Number(values.port ?? process.env.GATEWAY_PORT ?? 8000);
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };

  let demo: OpenAiMock | undefined;
  if (process.env.OPENAI_API_KEY) {
    env.LLM_OPENAI_BASE_URL ??= 'https://api.openai.com/v1';
    console.log(`upstream: OpenAI (${env.LLM_OPENAI_BASE_URL}) with OPENAI_API_KEY from the environment`);
  } else {
    demo = new OpenAiMock({ label: 'demo' });
    const { url } = await demo.start();
    env.LLM_OPENAI_BASE_URL = `${url}/v1`;
    env.OPENAI_API_KEY = 'demo-key-not-secret';
    console.log(`upstream: DEMO (no OPENAI_API_KEY set) — a local mock at ${url}; answers start with "[demo upstream]"`);
  }

  const kong = await KongEmulator.start({ config, env, port, pluginServer: { env } });
  console.log(`gateway: ${kong.url}  (Kong emulator + real plugin server, ${config})`);
  console.log(`try:     curl -s ${kong.url}/openai/v1/chat/completions -H 'apikey: team-a-demo-key' \\
           -H 'content-type: application/json' -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello"}]}'`);
  console.log('stop:    Ctrl-C');

  const stop = async () => {
    await kong.stop();
    await demo?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((err: unknown) => {
  console.error(`gateway failed to start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
