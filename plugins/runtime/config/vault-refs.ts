/** Kong vault references: a whole string value `{vault://<backend>/<name>}` (Kong resolves only referenceable fields). */
const VAULT_REFERENCE = /^\{vault:\/\/([^/{}]+)\/([^{}]+)\}$/;

export function isVaultReference(value: unknown): value is string {
  return typeof value === 'string' && VAULT_REFERENCE.test(value);
}

/** Kong's env vault reads `{vault://env/openai-key}` from the variable OPENAI_KEY. */
export function envVariableFor(reference: string): string {
  const match = VAULT_REFERENCE.exec(reference);
  if (!match) throw new Error(`not a vault reference: ${reference}`);
  const [, backend, name] = match;
  if (backend !== 'env') throw new Error(`vault reference ${reference}: only the env vault is supported here`);
  if (name.includes('/')) throw new Error(`vault reference ${reference}: JSON keys in env vault references are not supported`);
  return name.toUpperCase().replace(/-/g, '_');
}

/** Returns a copy of `value` with every env vault reference replaced by its variable; throws naming an unset variable. */
export function resolveEnvVaultRefs<T>(value: T, env: Readonly<Record<string, string | undefined>>): T {
  return resolve(value, env) as T;
}

function resolve(value: unknown, env: Readonly<Record<string, string | undefined>>): unknown {
  if (isVaultReference(value)) {
    const variable = envVariableFor(value);
    const resolved = env[variable];
    if (resolved === undefined) throw new Error(`vault reference ${value}: environment variable ${variable} is not set`);
    return resolved;
  }
  if (Array.isArray(value)) return value.map((child) => resolve(child, env));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, child]) => [key, resolve(child, env)]));
  }
  return value;
}
