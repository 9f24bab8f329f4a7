import { parseArgs } from 'node:util';
import { OpenAiMock, type OpenAiMockOptions } from './openai-mock';

/**
 * Runs the OpenAI mock on its own: the clearly labelled DEMO upstream of the local dev gateway and of docker compose.
 *
 *   node dist/spec/support/mock-providers/main.js --port 9100 [--host 127.0.0.1] [--label demo] [--api-key KEY]
 *
 * Prints exactly one line, `mock-openai listening on http://HOST:PORT`, to stdout. `--api-key` (or the environment
 * variable MOCK_OPENAI_API_KEY) makes it require `Authorization: Bearer KEY`.
 */
export function mockOptionsFromArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): OpenAiMockOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '9100' },
      host: { type: 'string', default: '127.0.0.1' },
      label: { type: 'string' },
      'api-key': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`--port must be an integer 0-65535, got ${values.port}`);
  return {
    host: values.host,
    port,
    label: values.label || undefined,
    apiKey: values['api-key'] || env.MOCK_OPENAI_API_KEY || undefined,
  };
}

export async function startMockFromArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<OpenAiMock> {
  const mock = new OpenAiMock(mockOptionsFromArgs(argv, env));
  const { url } = await mock.start();
  process.stdout.write(`mock-${mock.providerName} listening on ${url}\n`);
  return mock;
}

if (require.main === module) {
  startMockFromArgs(process.argv.slice(2)).then(
    (mock) => {
      // As PID 1 in a container node has no default signal handlers: stop explicitly.
      const stop = () => void mock.stop().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
    (err: unknown) => {
      process.stderr.write(`mock-openai failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
