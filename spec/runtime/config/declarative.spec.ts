import { join } from 'node:path';
import {
  type DeclarativeConfig,
  DeclarativeError,
  loadDeclarativeFile,
  parseDeclarative,
  resolveEnvVaultRefs,
  splitServiceUrl,
} from '../../../plugins/runtime/config/declarative';

const fixture = (name: string) => join(__dirname, 'fixtures', name);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function errorOf(action: () => unknown): DeclarativeError {
  try {
    action();
  } catch (error) {
    if (error instanceof DeclarativeError) return error;
    throw error;
  }
  throw new Error('expected a DeclarativeError');
}

describe('loadDeclarativeFile: nested forms', () => {
  const cfg = loadDeclarativeFile(fixture('nested-forms.yaml'));
  const service = (name: string) => cfg.services.find((s) => s.name === name)!;
  const route = (location: string) => cfg.routes.find((r) => r.location === location)!;
  const group = (name: string) => cfg.consumer_groups.find((g) => g.name === name)!;
  const consumer = (username: string) => cfg.consumers.find((c) => c.username === username)!;
  const plugin = (location: string) => cfg.plugins.find((p) => p.location === location)!;

  it('splits the service url shorthand and fills Kong\'s service defaults', () => {
    expect(service('llm')).toEqual({
      id: expect.stringMatching(UUID),
      name: 'llm',
      url: 'https://api.example.com/v1',
      protocol: 'https',
      host: 'api.example.com',
      port: 443,
      path: '/v1',
      retries: 5,
      connect_timeout: 60000,
      read_timeout: 60000,
      write_timeout: 60000,
      location: 'services[0]',
    });
    expect(service('plain')).toMatchObject({
      id: '0b9d0d8e-2f8c-4a55-9d0f-1a2b3c4d5e6f',
      protocol: 'http',
      host: 'backend.internal',
      port: 8080,
      path: '/api',
      retries: 2,
    });
  });

  it('takes routes nested in services and top-level routes referring to a service by name, {name} or {id}', () => {
    expect(route('services[0].routes[0]')).toEqual({
      id: expect.stringMatching(UUID),
      name: 'chat',
      service: service('llm').id,
      paths: ['/chat'],
      methods: ['POST'],
      headers: { 'x-team': ['a', 'b'] },
      strip_path: true,
      preserve_host: false,
      protocols: ['http', 'https'],
      regex_priority: 0,
      location: 'services[0].routes[0]',
    });
    expect(route('routes[0]')).toMatchObject({
      name: 'admin',
      service: service('plain').id,
      strip_path: false,
      preserve_host: true,
      regex_priority: 5,
      protocols: ['https'],
    });
    expect(route('routes[1]')).toMatchObject({ name: 'legacy', service: service('llm').id });
    expect(route('routes[2]')).toMatchObject({ service: service('plain').id, paths: ['/by-id'] });
    expect(route('routes[2]').name).toBeUndefined();
  });

  it('collects consumers with their credentials and groups from both sides of the membership', () => {
    expect(consumer('alice')).toEqual({
      id: expect.stringMatching(UUID),
      username: 'alice',
      custom_id: 'A-1',
      groups: [group('gold').id],
      keyauth_credentials: [{ id: expect.stringMatching(UUID), key: 'alice-key' }],
      location: 'consumers[0]',
    });
    expect(consumer('bob').groups).toEqual([group('silver').id, group('gold').id]);
    expect(group('silver')).toEqual({ id: expect.stringMatching(UUID), name: 'silver', location: 'consumer_groups[1]' });
  });

  it('scopes plugins by where they are nested or by the references they name', () => {
    const chat = route('services[0].routes[0]');
    expect(plugin('services[0].plugins[0]')).toEqual({
      id: expect.stringMatching(UUID),
      name: 'svc-plugin',
      enabled: true,
      config: { level: 'service' },
      service: service('llm').id,
      location: 'services[0].plugins[0]',
    });
    expect(plugin('services[0].routes[0].plugins[0]')).toMatchObject({ name: 'route-plugin', route: chat.id });
    expect(plugin('routes[0].plugins[0]')).toMatchObject({ name: 'route-plugin', route: route('routes[0]').id, config: {} });
    expect(plugin('consumer_groups[0].plugins[0]')).toMatchObject({ name: 'group-plugin', consumer_group: group('gold').id });
    expect(plugin('consumers[0].plugins[0]')).toMatchObject({ name: 'consumer-plugin', consumer: consumer('alice').id });
    expect(plugin('plugins[0]')).toMatchObject({ name: 'global-plugin', enabled: false });
    expect(plugin('plugins[1]')).toMatchObject({ route: chat.id, consumer: consumer('alice').id });
    expect(plugin('plugins[2]')).toMatchObject({
      service: service('plain').id,
      consumer_group: group('silver').id,
      instance_name: 'silver-on-plain',
    });
    expect(plugin('plugins[0]')).not.toHaveProperty('route');
    expect(cfg.plugins).toHaveLength(8);
  });

  it('derives the same ids on every load, different per entity', () => {
    const again = loadDeclarativeFile(fixture('nested-forms.yaml'));
    const ids = (c: DeclarativeConfig) => [c.services, c.routes, c.plugins, c.consumers, c.consumer_groups].flat().map((e) => e.id);
    expect(ids(again)).toEqual(ids(cfg));
    expect(new Set(ids(cfg)).size).toBe(ids(cfg).length);
  });
});

describe('parseDeclarative', () => {
  it('reads JSON and format 1.1 (also unquoted), with defaults', () => {
    const json = JSON.stringify({ _format_version: '1.1', services: [{ name: 's', host: 'h' }], routes: [{ name: 'r', service: 's' }] });
    const cfg = parseDeclarative(json, 'kong.json');
    expect(cfg.file).toBe('kong.json');
    expect(cfg.services[0]).toMatchObject({ protocol: 'http', host: 'h', port: 80 });
    expect(cfg.routes[0]).toMatchObject({ strip_path: true, preserve_host: false, protocols: ['http', 'https'], regex_priority: 0 });
    expect(parseDeclarative('_format_version: 3.0\n', 'k.yaml').services).toEqual([]);
  });

  it.each([
    ['an unknown reference', 'services:\n  - name: s\n    host: h\nplugins:\n  - name: p\n    route: nope\n', 'plugins[0].route', 6, 'unknown route "nope"'],
    ['a wrong type', 'services:\n  - name: s\n    host: h\n    port: eighty\n', 'services[0].port', 4, 'Invalid input: expected number, received string'],
    ['a duplicate name', 'services:\n  - name: s\n    host: h\n  - name: s\n    host: i\n', 'services[1]', 4, 'duplicate service "s" (also at services[0])'],
    ['a service without host', 'services:\n  - name: s\n', 'services[0]', 2, 'a service needs a url or a host'],
    ['a bad url', 'services:\n  - name: s\n    url: not-a-url\n', 'services[0].url', 3, 'invalid service url "not-a-url"'],
    [
      'the same plugin twice on one scope',
      'plugins:\n  - name: p\n  - name: p\n',
      'plugins[1]',
      3,
      'plugin p is configured twice for the same scope (also at plugins[0])',
    ],
    ['an unknown group of a consumer', 'consumers:\n  - username: a\n    groups: [{ name: gold }]\n', 'consumers[0].groups[0]', 3, 'unknown consumer group "gold"'],
  ])('rejects %s, naming file, location and line', (_, body, location, line, detail) => {
    const error = errorOf(() => parseDeclarative(`_format_version: "3.0"\n${body}`, 'kong/kong.yaml'));
    expect({ file: error.file, location: error.location, line: error.line, detail: error.detail }).toEqual({
      file: 'kong/kong.yaml',
      location,
      line: line + 1,
      detail,
    });
    expect(error.message).toBe(`kong/kong.yaml:${line + 1}: ${location}: ${detail}`);
  });

  it('rejects a missing or unknown _format_version', () => {
    expect(errorOf(() => parseDeclarative('services: []\n', 'k.yaml')).location).toBe('_format_version');
    expect(errorOf(() => parseDeclarative('_format_version: "9.9"\n', 'k.yaml')).location).toBe('_format_version');
  });

  it('reports YAML syntax errors and unreadable files with the file (and line)', () => {
    const syntax = errorOf(() => loadDeclarativeFile(fixture('syntax-error.yaml')));
    expect(syntax.file).toBe(fixture('syntax-error.yaml'));
    expect(syntax.line).toBe(6);
    expect(syntax.message).toMatch(/syntax-error\.yaml:6: .*Flow sequence/);
    const unknownRoute = errorOf(() => loadDeclarativeFile(fixture('unknown-route.yaml')));
    expect(unknownRoute.message).toBe(`${fixture('unknown-route.yaml')}:7: plugins[0].route: unknown route "missing-route"`);
    expect(errorOf(() => loadDeclarativeFile(fixture('absent.yaml'))).message).toMatch(/absent\.yaml: cannot read the file \(ENOENT\)/);
  });
});

describe('splitServiceUrl', () => {
  it.each([
    ['http://upstream', { protocol: 'http', host: 'upstream', port: 80 }],
    ['https://upstream', { protocol: 'https', host: 'upstream', port: 443 }],
    ['HTTPS://upstream:8443/', { protocol: 'https', host: 'upstream', port: 8443, path: '/' }],
    ['grpcs://[::1]/svc', { protocol: 'grpcs', host: '[::1]', port: 443, path: '/svc' }],
  ])('splits %s', (url, expected) => {
    expect(splitServiceUrl(url)).toEqual(expected);
  });

  it('rejects a string that is not a url', () => {
    expect(splitServiceUrl('upstream:80')).toBeUndefined();
  });
});

describe('resolveEnvVaultRefs', () => {
  it('replaces whole-string env vault references anywhere in a value', () => {
    const value = { auth: { api_key: '{vault://env/openai-api-key}' }, list: ['{vault://env/x}', 'keep {vault://env/x}'], n: 1, none: null };
    expect(resolveEnvVaultRefs(value, { OPENAI_API_KEY: 'sk-1', X: 'y' })).toEqual({
      auth: { api_key: 'sk-1' },
      list: ['y', 'keep {vault://env/x}'],
      n: 1,
      none: null,
    });
    expect(value.auth.api_key).toBe('{vault://env/openai-api-key}');
  });

  it('names the variable when it is unset, and refuses other vaults', () => {
    expect(() => resolveEnvVaultRefs({ k: '{vault://env/openai-api-key}' }, {})).toThrow('environment variable OPENAI_API_KEY is not set');
    expect(() => resolveEnvVaultRefs('{vault://aws/secret}', {})).toThrow('only the env vault is supported');
  });
});
