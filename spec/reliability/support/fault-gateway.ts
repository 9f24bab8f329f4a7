import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDeclarative } from '../../../plugins/runtime/config/declarative';
import { KongEmulator } from '../../support/kong-emulator/emulator';
import type { OpenAiMock } from '../../support/mock-providers/openai-mock';

export const FAULT_UPSTREAM_KEY = 'sk-fault-upstream-Qw7';
const FIXTURE = join(__dirname, '..', 'fixtures', 'kong.yaml');

export interface FaultGatewayOptions {
  redisPort: number;
  tokenFailMode?: 'open' | 'closed';
  costFailMode?: 'open' | 'closed';
  /** Extra plugin-server environment (usage sinks). */
  env?: Record<string, string>;
}

/**
 * The Kong emulator with the real plugin server in front of an OpenAI mock, llm-token-limit and llm-cost-attribution
 * on Redis (spec/reliability/fixtures/kong.yaml), usage events written to a file the test reads.
 */
export async function startFaultGateway(mock: OpenAiMock, options: FaultGatewayOptions) {
  const dir = mkdtempSync(join(tmpdir(), 'llm-fault-'));
  const usageFile = join(dir, 'usage.jsonl');
  const yaml = readFileSync(FIXTURE, 'utf8')
    .replaceAll('__REDIS_PORT__', String(options.redisPort))
    .replace('__TOKEN_FAIL_MODE__', options.tokenFailMode ?? 'open')
    .replace('__COST_FAIL_MODE__', options.costFailMode ?? 'open');
  const env = { LLM_OPENAI_BASE_URL: `${mock.url}/v1`, OPENAI_API_KEY: FAULT_UPSTREAM_KEY, LLM_USAGE_LOG: usageFile, ...options.env };
  const kong = await KongEmulator.start({ config: parseDeclarative(yaml, FIXTURE), env, pluginServer: { env } });
  return {
    kong,
    chatUrl: `${kong.url}/openai/v1/chat/completions`,
    headers: { apikey: 'team-a-key', 'content-type': 'application/json' },
    /** Usage events written so far (waits a moment for the last ones to reach the file). */
    async usageEvents(): Promise<Record<string, any>[]> {
      await new Promise((r) => setTimeout(r, 150));
      if (!existsSync(usageFile)) return [];
      return readFileSync(usageFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));
    },
    async stop() {
      await kong.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
