import { LuaError } from '../lua';
import type { BundledPlugin } from './types';

/**
 * Kong's pre-function runs Lua, which the emulator cannot. It emulates exactly the snippets the suite ships (found by
 * their marker comment) and refuses any other code with the 500 a Lua error would give; the real-Kong suite runs the
 * Lua itself.
 */
export const SDK_KEYS_MARKER = 'kong-llm: sdk-keys';

/**
 * The shipped snippet (kong/kong.yaml): SDKs send the key as `Authorization: Bearer <key>` (OpenAI, Anthropic 1.x) or
 * `x-api-key: <key>` (Anthropic, Claude Code); key-auth reads `apikey`. Like ngx.req.set_header, the header is set on
 * the request itself, so key-auth (later in the same phase) sees it, and it is proxied (key-auth may hide it).
 */
function sdkKeys(headers: { get(name: string): string | undefined; set(name: string, value: string): void }[]): void {
  const [request] = headers;
  if (request.get('apikey')) return;
  const key = request.get('x-api-key') ?? /^bearer\s+(\S+)$/i.exec(request.get('authorization') ?? '')?.[1];
  if (key) for (const h of headers) h.set('apikey', key);
}

export const preFunction: BundledPlugin = {
  name: 'pre-function',
  priority: 1_000_000,
  phases: ['access'],
  schemaFields: [{ access: { type: 'array', required: false, default: [], elements: { type: 'string' } } }],
  run(ctx, phase, conf) {
    const chunks = (conf[phase] as unknown[] | undefined) ?? [];
    for (const code of chunks) {
      if (typeof code === 'string' && code.includes(SDK_KEYS_MARKER)) sdkKeys([ctx.req.headers, ctx.req.upstream.headers]);
      else throw new LuaError('pre-function: this Lua code is not emulated (only the snippets kong/kong.yaml ships)');
    }
  },
};
