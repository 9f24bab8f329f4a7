import { cjsonEncode, EMPTY_MAP, LuaBinary, toWire } from '../support/kong-emulator/lua';
import { applyFixup, buildPdk, stepMethodFor } from '../support/kong-emulator/pdk';
import { parsePluginInfo } from '../support/kong-emulator/plugin-server-process';
import { Router, upstreamUriV0 } from '../support/kong-emulator/router';
import { HeaderList } from '../support/kong-emulator/request-state';
import { fillConfigDefaults, type KongField } from '../support/kong-emulator/schema-defaults';
import { applySerializeValues } from '../support/kong-emulator/serialize';
import { EntityStore } from '../support/kong-emulator/entities';
import { config } from './helpers';

describe('wire values as Kong packs them', () => {
  it('packs empty tables as arrays, EMPTY_MAP as a map and raw bodies as bin', () => {
    expect(toWire({})).toEqual([]);
    expect(toWire({ a: {} })).toEqual({ a: [] });
    expect(toWire(EMPTY_MAP)).toEqual({});
    expect(toWire(new LuaBinary(Buffer.from('x')))).toBeInstanceOf(Uint8Array);
    expect(toWire({ a: undefined, b: 1 })).toEqual({ b: 1 });
  });

  it('applies mp_rpc fixups: multimaps as arrays, true as [], empty as a map; raw body as bin', () => {
    expect(applyFixup('kong.request.get_query', { a: ['1', '2'], flag: true, e: '' })).toEqual({ a: ['1', '2'], flag: [], e: [''] });
    expect(applyFixup('kong.request.get_headers', {})).toBe(EMPTY_MAP);
    expect(applyFixup('kong.request.get_raw_body', Buffer.from('hi'))).toBeInstanceOf(LuaBinary);
    expect(() => applyFixup('kong.request.get_raw_body', null)).toThrow(/nil value/);
  });

  it('chooses the Step method per PDK method as mp_rpc.lua does', () => {
    expect(stepMethodFor('kong.request.get_headers')).toBe('plugin.StepMultiMap');
    expect(stepMethodFor('kong.client.get_credential')).toBe('plugin.StepCredential');
    expect(stepMethodFor('kong.client.authenticate')).toBe('plugin.StepCredential');
    expect(stepMethodFor('kong.client.load_consumer')).toBe('plugin.StepConsumer');
    expect(stepMethodFor('kong.router.get_route')).toBe('plugin.StepRoute');
    expect(stepMethodFor('kong.router.get_service')).toBe('plugin.StepService');
    expect(stepMethodFor('kong.request.get_header')).toBe('plugin.Step');
  });

  it('encodes JSON as lua-cjson: escaped slashes, empty table as object', () => {
    expect(cjsonEncode({ url: 'http://x/y', list: [] })).toBe('{"url":"http:\\/\\/x\\/y","list":{}}');
    expect(cjsonEncode({ list: [] }, true)).toBe('{"list":[]}');
    expect(cjsonEncode(0.1)).toBe('0.1');
    expect(cjsonEncode(1e20)).toBe('1e+20');
  });

  it('resolves PDK names by \\w+ segments and reports namespaces and unknown names', () => {
    const pdk = buildPdk('3.9');
    expect(pdk.resolve('kong.request.get_header')).toBeInstanceOf(Function);
    expect(pdk.resolve('kong:request:get_header')).toBeInstanceOf(Function);
    expect(pdk.resolve('kong.request')).toBe('namespace');
    expect(pdk.resolve('kong.request.nope')).toBeUndefined();
    expect(pdk.resolve('kong.client.get_consumer_groups')).toBeUndefined();
    expect(buildPdk('3.10').resolve('kong.client.get_consumer_groups')).toBeInstanceOf(Function);
  });
});

describe('set_serialize_value edits (kong.pdk.log edit_result)', () => {
  it('creates sub-tables for set/add, skips add on existing and replace on missing', () => {
    const root: Record<string, unknown> = { request: { method: 'GET' } };
    applySerializeValues(
      root,
      [
        { key: 'ai.proxy.usage.prompt_tokens', value: 10, mode: 'set' },
        { key: 'request.method', value: 'POST', mode: 'add' },
        { key: 'missing.x', value: 1, mode: 'replace' },
        { key: 'request.method', value: 'PUT', mode: 'replace' },
      ],
      false,
    );
    expect(root).toEqual({ request: { method: 'PUT' }, ai: { proxy: { usage: { prompt_tokens: 10 } } } });
  });

  it('treats `\\.` as a literal dot only from Kong 3.10', () => {
    const v = [{ key: 'a\\.b.c', value: 1, mode: 'set' as const }];
    expect(applySerializeValues({}, v, true)).toEqual({ 'a.b': { c: 1 } });
    expect(applySerializeValues({}, v, false)).toEqual({ 'a\\': { b: { c: 1 } } });
  });

  it('fails when a path crosses a non-table, with Kong\'s message', () => {
    expect(() => applySerializeValues({ a: 1 }, [{ key: 'a.b', value: 1, mode: 'set' }], false)).toThrow(
      "The key 'a.b' could not be used as a serialize value. Subkey 'a' is not a table. It's 1",
    );
  });
});

describe('config defaults (schema process_auto_fields, then DAO select)', () => {
  const fields: Record<string, KongField>[] = [
    { message: { type: 'string', default: 'hello' } },
    { optional: { type: 'string' } },
    { limits: { type: 'record', required: true, fields: [{ rpm: { type: 'integer', default: 60 } }, { burst: { type: 'integer' } }] } },
    { extra: { type: 'record', fields: [{ a: { type: 'string', default: 'x' } }] } },
    { models: { type: 'array', elements: { type: 'record', fields: [{ name: { type: 'string' } }, { weight: { type: 'integer', default: 1 } }] } } },
    { tags: { type: 'set', elements: { type: 'string' } } },
  ];

  it('fills nested defaults, array element records, dedupes sets and drops unset optional fields', () => {
    const out = fillConfigDefaults(fields, { models: [{ name: 'a' }], tags: ['x', 'x', 'y'] });
    expect(out).toEqual({ message: 'hello', limits: { rpm: 60 }, models: [{ name: 'a', weight: 1 }], tags: ['x', 'y'] });
  });

  it('keeps unset fields as null when asked', () => {
    const out = fillConfigDefaults(fields, {}, true);
    expect(out).toMatchObject({ optional: null, extra: null, limits: { rpm: 60, burst: null }, models: null });
  });
});

describe('plugin info query output', () => {
  const one = { Name: 'p', Version: '1.0.0', Priority: 5, Phases: ['access'], Schema: {} };

  it('takes only the first entry on Kong >= 3.9 and all on <= 3.8; accepts {Plugins: [...]}', () => {
    const two = JSON.stringify([one, { ...one, Name: 'q' }]);
    expect(parsePluginInfo(two, 'q', '/s', false).map((i) => i.name)).toEqual(['p']);
    expect(parsePluginInfo(two, 'q', '/s', true).map((i) => i.name)).toEqual(['p', 'q']);
    expect(parsePluginInfo(JSON.stringify({ Protocol: 'MsgPack:1', Plugins: [one] }), 'q', '/s', false)[0].priority).toBe(5);
  });

  it('rejects stdout that is not only JSON, and bad Priority/Version', () => {
    expect(() => parsePluginInfo(`warning: x\n${JSON.stringify([one])}`, 'q', '/s', false)).toThrow(/failed decoding plugin info/);
    expect(() => parsePluginInfo(JSON.stringify([{ ...one, Priority: 1.5 }]), 'q', '/s', false)).toThrow(/PRIORITY/);
    expect(() => parsePluginInfo(JSON.stringify([{ ...one, Version: 'v1' }]), 'q', '/s', false)).toThrow(/VERSION/);
  });
});

describe('router', () => {
  const cfg = config(`
_format_version: "3.0"
services:
  - name: api
    url: http://127.0.0.1:9/base
    routes:
      - { name: short, paths: [/v1] }
      - { name: long, paths: [/v1/chat] }
      - { name: regex-low, paths: ["~/r/\\\\d+$"], regex_priority: 1 }
      - { name: regex-high, paths: ["~/r/1"], regex_priority: 5 }
      - { name: posts, paths: [/m], methods: [POST] }
      - { name: hosted, paths: [/h], hosts: [example.com] }
      - { name: by-header, paths: [/x], headers: { x-team: [blue] } }
      - { name: keep, paths: [/keep], strip_path: false }
`);
  const entities = new EntityStore(cfg);
  const router = new Router(entities.routes.values(), entities.services);
  const name = (method: string, path: string, host = 'localhost', headers = new HeaderList()) =>
    router.match(method, path, host, headers)?.route.name;

  it('prefers the longest prefix, regex before prefix by regex_priority, and checks methods/hosts/headers', () => {
    expect(name('GET', '/v1/chat/completions')).toBe('long');
    expect(name('GET', '/v1/models')).toBe('short');
    expect(name('GET', '/r/1')).toBe('regex-high');
    expect(name('GET', '/r/22')).toBe('regex-low');
    expect(name('GET', '/m')).toBeUndefined();
    expect(name('POST', '/m')).toBe('posts');
    expect(name('GET', '/h')).toBeUndefined();
    expect(name('GET', '/h', 'example.com')).toBe('hosted');
    expect(name('GET', '/x')).toBeUndefined();
    expect(name('GET', '/x', 'localhost', new HeaderList([['X-Team', 'Blue']]))).toBe('by-header');
  });

  it('builds the upstream path from service.path and strip_path (path_handling v0)', () => {
    expect(router.match('GET', '/v1/chat/completions', 'localhost', new HeaderList())?.upstreamUri).toBe('/base/completions');
    expect(router.match('GET', '/keep/a', 'localhost', new HeaderList())?.upstreamUri).toBe('/base/keep/a');
    expect(upstreamUriV0(true, '', '/v1', '/')).toBe('/');
    expect(upstreamUriV0(true, '/x', '/v1/x', '/base/')).toBe('/base/x');
    expect(upstreamUriV0(false, '', '/', '/base')).toBe('/base');
  });
});
