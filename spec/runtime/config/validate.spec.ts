import { join } from 'node:path';
import { runValidate } from '../../../plugins/runtime/cli/validate';
import type { ConfigSource } from '../../../plugins/runtime/config/config-source';
import { loadDeclarativeFile, parseDeclarative } from '../../../plugins/runtime/config/declarative';
import { type Problem, formatProblem, validateDeclarative } from '../../../plugins/runtime/config/validate';
import { kongSchemaFor } from '../../../plugins/runtime/config/zod-to-kong';
import { PLUGINS } from '../../../plugins/registry';
import { TEST_DEFS } from './fixtures/test-plugins';

const fixture = (name: string) => join(__dirname, 'fixtures', name);
const ROOT = join(__dirname, '..', '..', '..');

function capture() {
  const lines = { log: [] as string[], error: [] as string[] };
  return { lines, out: { log: (s: string) => lines.log.push(s), error: (s: string) => lines.error.push(s) } };
}

describe('validateDeclarative', () => {
  it('finds nothing wrong in a good file (defaults applied, vault references in referenceable fields, other plugins ignored)', () => {
    expect(validateDeclarative(loadDeclarativeFile(fixture('good.yaml')), TEST_DEFS)).toEqual([]);
  });

  it('names file, location, plugin, scope and field for each bad config', () => {
    const file = 'spec/runtime/config/fixtures/bad-configs.yaml';
    const problems = validateDeclarative(loadDeclarativeFile(join(ROOT, file)), TEST_DEFS).map((p) => ({ ...p, file: 'bad-configs.yaml' }));
    const at = (route: number, plugin: number, name: string, routeName: string, path: string, message: string): Problem => ({
      file: 'bad-configs.yaml',
      location: `services[0].routes[${route}].plugins[${plugin}]`,
      plugin: name,
      scope: `route "${routeName}"`,
      path,
      message,
    });
    expect(problems).toEqual([
      at(0, 0, 'llm-proxy', 'wrong-type', 'config.timeout_ms', 'Invalid input: expected number, received string'),
      at(1, 0, 'llm-proxy', 'unknown-field', 'config.temperature', 'unknown field'),
      at(2, 0, 'llm-proxy', 'out-of-range', 'config.timeout_ms', 'Too small: expected number to be >=100'),
      at(3, 0, 'llm-proxy', 'bad-enum', 'config.model', 'Invalid option: expected one of "gpt-4o"|"gpt-4o-mini"'),
      at(4, 0, 'llm-proxy', 'missing-required', 'config.base_url', 'required field is missing'),
      at(5, 0, 'llm-proxy', 'bad-url', 'config.base_url', 'Invalid URL'),
      at(6, 0, 'llm-proxy', 'misplaced-vault', 'config.organization', 'this field does not accept vault references'),
      at(7, 1, 'llm-teleport', 'unknown-plugin', '', 'unknown plugin; the suite has llm-proxy, llm-token-limit'),
      at(8, 0, 'llm-token-limit', 'no-proxy', 'config.redis.port', 'Too big: expected number to be <=65535'),
      {
        file: 'bad-configs.yaml',
        location: 'services[0].routes[8]',
        plugin: 'llm-token-limit',
        scope: 'route "no-proxy"',
        path: '',
        message:
          'llm-token-limit (services[0].routes[8].plugins[0]) applies without llm-proxy; every llm-* plugin needs llm-proxy on the same request',
      },
    ]);
  });

  it('formats a problem as one line', () => {
    const cfg = parseDeclarative(
      '_format_version: "3.0"\nservices:\n  - name: llm\n    host: h\n    routes:\n      - name: chat\n        plugins:\n          - name: llm-proxy\n            config: { base_url: nope, model: gpt-4o }\n',
      'kong/kong.yaml',
    );
    expect(validateDeclarative(cfg, TEST_DEFS).map(formatProblem)).toEqual([
      'kong/kong.yaml: services[0].routes[0].plugins[0] llm-proxy (route "chat"): config.base_url: Invalid URL',
    ]);
  });

  it('checks llm-proxy per caller: a consumer-scoped llm-proxy does not cover anonymous requests', () => {
    const cfg = parseDeclarative(
      [
        '_format_version: "3.0"',
        'services: [{ name: llm, host: h, routes: [{ name: chat, paths: [/c] }] }]',
        'consumers: [{ username: alice }]',
        'consumer_groups: [{ name: gold, consumers: [{ username: alice }] }]',
        'plugins:',
        '  - { name: llm-token-limit, consumer_group: gold, config: { tokens_per_minute: 5 } }',
        '  - { name: llm-proxy, consumer: alice, config: { base_url: "http://up", model: gpt-4o } }',
        '  - { name: llm-token-limit, service: llm, config: { tokens_per_minute: 5 } }',
      ].join('\n'),
      'k.yaml',
    );
    expect(validateDeclarative(cfg, TEST_DEFS).map((p) => [p.location, p.plugin, p.scope, p.message])).toEqual([
      [
        'services[0].routes[0]',
        'llm-token-limit',
        'route "chat"',
        'llm-token-limit (plugins[2]) applies without llm-proxy; every llm-* plugin needs llm-proxy on the same request',
      ],
    ]);
  });

  it('describes scopes made of several entities', () => {
    const cfg = parseDeclarative(
      [
        '_format_version: "3.0"',
        'services: [{ name: llm, host: h, routes: [{ name: chat }] }]',
        'consumers: [{ username: alice }]',
        'plugins:',
        '  - { name: llm-proxy, route: chat, consumer: alice, config: { base_url: "http://up", model: gpt-5 } }',
        '  - { name: llm-proxy, config: { base_url: "http://up", model: gpt-4o, timeout_ms: 1 } }',
      ].join('\n'),
      'k.yaml',
    );
    expect(validateDeclarative(cfg, TEST_DEFS).map((p) => p.scope)).toEqual(['route "chat", consumer "alice"', 'global']);
  });
});

describe('runValidate', () => {
  it('returns 0 and prints a success line for good files', async () => {
    const { lines, out } = capture();
    expect(await runValidate([fixture('good.yaml')], TEST_DEFS, out)).toBe(0);
    expect(lines).toEqual({ log: ['ok: 1 file(s), 4 llm-* plugin(s) valid'], error: [] });
  });

  it('returns 1 and prints one line per problem', async () => {
    const { lines, out } = capture();
    expect(await runValidate([fixture('good.yaml'), fixture('bad-configs.yaml')], TEST_DEFS, out)).toBe(1);
    expect(lines.log).toEqual([]);
    expect(lines.error).toHaveLength(10);
    expect(lines.error[0]).toBe(
      `${fixture('bad-configs.yaml')}: services[0].routes[0].plugins[0] llm-proxy (route "wrong-type"): config.timeout_ms: Invalid input: expected number, received string`,
    );
  });

  it('returns 2 with file and line for a file it cannot parse or read, and still checks the others', async () => {
    const { lines, out } = capture();
    const files = [fixture('syntax-error.yaml'), fixture('absent.yaml'), fixture('bad-configs.yaml')];
    expect(await runValidate(files, TEST_DEFS, out)).toBe(2);
    expect(lines.error[0]).toMatch(new RegExp(`^${fixture('syntax-error.yaml')}:6: `));
    expect(lines.error[1]).toBe(`${fixture('absent.yaml')}: cannot read the file (ENOENT)`);
    expect(lines.error).toHaveLength(12);
  });

  it('returns 2 with a usage line when no file is given', async () => {
    const { lines, out } = capture();
    expect(await runValidate([], TEST_DEFS, out)).toBe(2);
    expect(lines.error).toEqual(['usage: kong-llm validate <kong.yaml> [more files...]']);
  });
});

describe('the real plugins', () => {
  it('export a valid Kong schema each', () => {
    for (const def of PLUGINS) {
      const schema = kongSchemaFor(def);
      expect(schema.name).toBe(def.name);
      expect(schema.fields[0].config.type).toBe('record');
    }
  });

  it('accept the example kong/kong.yaml', () => {
    const problems = validateDeclarative(loadDeclarativeFile(join(ROOT, 'kong', 'kong.yaml')), PLUGINS);
    expect(problems.map(formatProblem)).toEqual([]);
  });
});

describe('llm-proxy services', () => {
  it('reports a service with https carrying llm-proxy, naming the service and why', () => {
    const cfg = parseDeclarative(
      `_format_version: "3.0"\nservices:\n  - name: secure\n    url: https://api.example.com\n    routes:\n      - name: chat\n        paths: [/chat]\n        plugins:\n          - name: llm-proxy\n            config: { provider: openai, auth: { api_key: x } }\n`,
      'tls.yaml',
    );
    const lines = validateDeclarative(cfg, PLUGINS).map(formatProblem);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^tls\.yaml: services\[0\] llm-proxy \(route "chat"\): service "secure" uses https; a service carrying llm-proxy must use http/);
  });
});
