import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { LineCounter, isNode, parseDocument, type Document } from 'yaml';
import { formatPath } from './field-path';
import {
  type RawConsumer,
  type RawConsumerGroup,
  type RawDeclarativeFile,
  type RawPlugin,
  type RawReference,
  type RawRoute,
  type RawService,
  rawDeclarativeFile,
} from './declarative-file';

export { pluginsForRequest } from './plugin-precedence';
export { isVaultReference, resolveEnvVaultRefs } from './vault-refs';

/** Entities of a Kong/decK declarative file, flattened: every foreign key is an id, Kong's defaults are filled. */
export interface DeclarativeConfig {
  file: string;
  services: DeclarativeService[];
  routes: DeclarativeRoute[];
  plugins: DeclarativePlugin[];
  consumers: DeclarativeConsumer[];
  consumer_groups: DeclarativeConsumerGroup[];
}

export interface DeclarativeService {
  id: string;
  name?: string;
  url?: string;
  protocol: string;
  host: string;
  port: number;
  path?: string;
  retries?: number;
  connect_timeout?: number;
  read_timeout?: number;
  write_timeout?: number;
  tags?: string[];
  location: string;
}

export interface DeclarativeRoute {
  id: string;
  name?: string;
  /** service id */
  service?: string;
  paths?: string[];
  methods?: string[];
  hosts?: string[];
  headers?: Record<string, string[]>;
  strip_path: boolean;
  preserve_host: boolean;
  protocols: string[];
  regex_priority: number;
  tags?: string[];
  location: string;
}

export type PluginScopeKind = 'service' | 'route' | 'consumer' | 'consumer_group';

export interface DeclarativePlugin {
  id: string;
  name: string;
  enabled: boolean;
  config: Record<string, unknown>;
  /** ids of the entities the plugin is scoped to; none = global */
  service?: string;
  route?: string;
  consumer?: string;
  consumer_group?: string;
  instance_name?: string;
  /** where it is written, e.g. `services[0].routes[1].plugins[0]` */
  location: string;
}

export interface DeclarativeConsumer {
  id: string;
  username?: string;
  custom_id?: string;
  tags?: string[];
  /** consumer group ids */
  groups: string[];
  keyauth_credentials: { id: string; key: string }[];
  location: string;
}

export interface DeclarativeConsumerGroup {
  id: string;
  name: string;
  tags?: string[];
  location: string;
}

export class DeclarativeError extends Error {
  constructor(
    readonly file: string,
    /** e.g. `services[0].routes[1]`; '' when the whole file is concerned */
    readonly location: string,
    readonly detail: string,
    readonly line?: number,
  ) {
    super(`${file}${line ? `:${line}` : ''}: ${location ? `${location}: ` : ''}${detail}`);
    this.name = 'DeclarativeError';
  }
}

export function loadDeclarativeFile(path: string): DeclarativeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new DeclarativeError(path, '', `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  return parseDeclarative(text, path);
}

/** Parses YAML or JSON (JSON is YAML). */
export function parseDeclarative(text: string, file: string): DeclarativeConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const [syntaxError] = doc.errors;
  if (syntaxError) {
    const detail = syntaxError.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    throw new DeclarativeError(file, '', detail, syntaxError.linePos?.[0].line);
  }
  const source = new SourceMap(file, doc, lineCounter);
  const parsed = rawDeclarativeFile.safeParse(doc.toJS());
  if (!parsed.success) {
    const [issue] = parsed.error.issues;
    throw source.error(issue.path, issue.message);
  }
  return new Flattener(source, parsed.data).run();
}

/** Turns a path inside the file into the DeclarativeError of that place, with its line when the node exists. */
class SourceMap {
  constructor(
    readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  error(path: readonly PropertyKey[], detail: string): DeclarativeError {
    return new DeclarativeError(this.file, formatPath(path), detail, this.lineOf(path));
  }

  private lineOf(path: readonly PropertyKey[]): number | undefined {
    for (let length = path.length; length >= 0; length--) {
      const node = this.doc.getIn(path.slice(0, length) as unknown[], true);
      if (isNode(node) && node.range) return this.lines.linePos(node.range[0]).line;
    }
    return undefined;
  }
}

type Where = readonly PropertyKey[];
type Owner = Partial<Record<PluginScopeKind, string>>;

/** Derived ids are UUID-shaped hashes of kind + natural key, so repeated loads agree. */
export function stableId(kind: string, key: string): string {
  const hex = createHash('sha256').update(`${kind}:${key}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const SECURE_SCHEMES = new Set(['https', 'grpcs', 'tls', 'wss']);
const SERVICE_URL = /^([a-z][a-z0-9+.-]*):\/\/(\[[^\]]+\]|[^/:?#]+)(?::(\d+))?(\/[^?#]*)?$/i;

/** Kong's `url` shorthand: protocol, host, port (80/443 by scheme when absent) and path. */
export function splitServiceUrl(url: string): { protocol: string; host: string; port: number; path?: string } | undefined {
  const match = SERVICE_URL.exec(url);
  if (!match) return undefined;
  const [, scheme, host, port, path] = match;
  const protocol = scheme.toLowerCase();
  return { protocol, host, port: port ? Number(port) : SECURE_SCHEMES.has(protocol) ? 443 : 80, ...(path ? { path } : {}) };
}

/** Index of one entity kind by id and by its names (name, username, custom_id). */
class EntityIndex<T extends { id: string; location: string }> {
  private readonly byKey = new Map<string, T>();

  constructor(
    private readonly kind: string,
    private readonly source: SourceMap,
  ) {}

  add(entity: T, names: (string | undefined)[]): void {
    for (const key of [...names, entity.id]) {
      if (key === undefined) continue;
      const existing = this.byKey.get(key);
      if (existing && existing !== entity) {
        throw this.source.error(pathOf(entity.location), `duplicate ${this.kind} "${key}" (also at ${existing.location})`);
      }
      this.byKey.set(key, entity);
    }
  }

  resolve(reference: RawReference, where: Where): T {
    const keys = typeof reference === 'string' ? [reference] : [reference.id, reference.name, reference.username];
    const key = keys.find((candidate) => candidate !== undefined);
    const entity = key === undefined ? undefined : this.byKey.get(key);
    if (!entity) throw this.source.error(where, `unknown ${this.kind} ${key === undefined ? '(no id or name given)' : `"${key}"`}`);
    return entity;
  }
}

/** Locations are built with formatPath; this recovers the path for line lookup. */
function pathOf(location: string): PropertyKey[] {
  return [...location.matchAll(/([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g)].map(([, key, index]) => key ?? Number(index));
}

interface PendingPlugin {
  raw: RawPlugin;
  where: Where;
  owner: Owner;
}

class Flattener {
  private readonly services: DeclarativeService[] = [];
  private readonly routes: DeclarativeRoute[] = [];
  private readonly consumers: DeclarativeConsumer[] = [];
  private readonly groups: DeclarativeConsumerGroup[] = [];
  private readonly plugins: DeclarativePlugin[] = [];
  private readonly pendingPlugins: PendingPlugin[] = [];
  private readonly serviceIndex: EntityIndex<DeclarativeService>;
  private readonly routeIndex: EntityIndex<DeclarativeRoute>;
  private readonly consumerIndex: EntityIndex<DeclarativeConsumer>;
  private readonly groupIndex: EntityIndex<DeclarativeConsumerGroup>;
  private readonly pluginIndex: EntityIndex<DeclarativePlugin>;

  constructor(
    private readonly source: SourceMap,
    private readonly raw: RawDeclarativeFile,
  ) {
    this.serviceIndex = new EntityIndex('service', source);
    this.routeIndex = new EntityIndex('route', source);
    this.consumerIndex = new EntityIndex('consumer', source);
    this.groupIndex = new EntityIndex('consumer group', source);
    this.pluginIndex = new EntityIndex('plugin', source);
  }

  run(): DeclarativeConfig {
    const services = this.raw.services ?? [];
    services.forEach((raw, i) => this.addService(raw, ['services', i]));
    services.forEach((service, i) =>
      (service.routes ?? []).forEach((raw, j) => this.addRoute(raw, ['services', i, 'routes', j], this.services[i].id)),
    );
    (this.raw.routes ?? []).forEach((raw, i) => this.addRoute(raw, ['routes', i], undefined));
    const groups = this.raw.consumer_groups ?? [];
    groups.forEach((raw, i) => this.addGroup(raw, ['consumer_groups', i]));
    (this.raw.consumers ?? []).forEach((raw, i) => this.addConsumer(raw, ['consumers', i]));
    groups.forEach((raw, i) => this.addMembers(raw, ['consumer_groups', i], this.groups[i]));
    (this.raw.plugins ?? []).forEach((raw, i) => this.pendingPlugins.push({ raw, where: ['plugins', i], owner: {} }));
    this.pendingPlugins.forEach((pending) => this.addPlugin(pending));
    return {
      file: this.source.file,
      services: this.services,
      routes: this.routes,
      plugins: this.plugins,
      consumers: this.consumers,
      consumer_groups: this.groups,
    };
  }

  private queuePlugins(raws: RawPlugin[] | undefined, where: Where, owner: Owner): void {
    (raws ?? []).forEach((raw, i) => this.pendingPlugins.push({ raw, where: [...where, 'plugins', i], owner }));
  }

  private addService(raw: RawService, where: Where): void {
    const target = raw.url !== undefined ? splitServiceUrl(raw.url) : undefined;
    if (raw.url !== undefined && !target) throw this.source.error([...where, 'url'], `invalid service url "${raw.url}"`);
    const host = target?.host ?? raw.host;
    if (!host) throw this.source.error(where, 'a service needs a url or a host');
    const location = formatPath(where);
    const service: DeclarativeService = {
      id: raw.id ?? stableId('services', raw.name ?? location),
      ...(raw.name !== undefined && { name: raw.name }),
      ...(raw.url !== undefined && { url: raw.url }),
      protocol: target?.protocol ?? raw.protocol ?? 'http',
      host,
      port: target?.port ?? raw.port ?? 80,
      ...((target?.path ?? raw.path) !== undefined && { path: target?.path ?? raw.path }),
      retries: raw.retries ?? 5,
      connect_timeout: raw.connect_timeout ?? 60000,
      read_timeout: raw.read_timeout ?? 60000,
      write_timeout: raw.write_timeout ?? 60000,
      ...(raw.tags && { tags: raw.tags }),
      location,
    };
    this.services.push(service);
    this.serviceIndex.add(service, [raw.name]);
    this.queuePlugins(raw.plugins, where, { service: service.id });
  }

  private addRoute(raw: RawRoute, where: Where, nestedServiceId: string | undefined): void {
    if (nestedServiceId !== undefined && raw.service) {
      throw this.source.error([...where, 'service'], 'a route nested in a service cannot name another service');
    }
    const serviceId = nestedServiceId ?? (raw.service ? this.serviceIndex.resolve(raw.service, [...where, 'service']).id : undefined);
    const location = formatPath(where);
    const route: DeclarativeRoute = {
      id: raw.id ?? stableId('routes', raw.name ?? location),
      ...(raw.name !== undefined && { name: raw.name }),
      ...(serviceId !== undefined && { service: serviceId }),
      ...(raw.paths && { paths: raw.paths }),
      ...(raw.methods && { methods: raw.methods }),
      ...(raw.hosts && { hosts: raw.hosts }),
      ...(raw.headers && { headers: raw.headers }),
      strip_path: raw.strip_path ?? true,
      preserve_host: raw.preserve_host ?? false,
      protocols: raw.protocols ?? ['http', 'https'],
      regex_priority: raw.regex_priority ?? 0,
      ...(raw.tags && { tags: raw.tags }),
      location,
    };
    this.routes.push(route);
    this.routeIndex.add(route, [raw.name]);
    this.queuePlugins(raw.plugins, where, { route: route.id });
  }

  private addGroup(raw: RawConsumerGroup, where: Where): void {
    const group: DeclarativeConsumerGroup = {
      id: raw.id ?? stableId('consumer_groups', raw.name),
      name: raw.name,
      ...(raw.tags && { tags: raw.tags }),
      location: formatPath(where),
    };
    this.groups.push(group);
    this.groupIndex.add(group, [raw.name]);
    this.queuePlugins(raw.plugins, where, { consumer_group: group.id });
  }

  private addConsumer(raw: RawConsumer, where: Where): void {
    if (raw.username === undefined && raw.custom_id === undefined) {
      throw this.source.error(where, 'a consumer needs a username or a custom_id');
    }
    const id = raw.id ?? stableId('consumers', raw.username ?? `custom_id:${raw.custom_id}`);
    const consumer: DeclarativeConsumer = {
      id,
      ...(raw.username !== undefined && { username: raw.username }),
      ...(raw.custom_id !== undefined && { custom_id: raw.custom_id }),
      ...(raw.tags && { tags: raw.tags }),
      groups: [],
      // Derived from the consumer and position, never from the key itself.
      keyauth_credentials: (raw.keyauth_credentials ?? []).map((credential, i) => ({
        id: credential.id ?? stableId('keyauth_credentials', `${id}:${i}`),
        key: credential.key,
      })),
      location: formatPath(where),
    };
    this.consumers.push(consumer);
    this.consumerIndex.add(consumer, [raw.username, raw.custom_id]);
    (raw.groups ?? []).forEach((reference, i) => {
      this.join(consumer, this.groupIndex.resolve(reference, [...where, 'groups', i]));
    });
    this.queuePlugins(raw.plugins, where, { consumer: consumer.id });
  }

  private addMembers(raw: RawConsumerGroup, where: Where, group: DeclarativeConsumerGroup): void {
    (raw.consumers ?? []).forEach((reference, i) => {
      this.join(this.consumerIndex.resolve(reference, [...where, 'consumers', i]), group);
    });
  }

  private join(consumer: DeclarativeConsumer, group: DeclarativeConsumerGroup): void {
    if (!consumer.groups.includes(group.id)) consumer.groups.push(group.id);
  }

  private addPlugin({ raw, where, owner }: PendingPlugin): void {
    const scope: Owner = { ...owner };
    const references: [PluginScopeKind, EntityIndex<{ id: string; location: string }>][] = [
      ['service', this.serviceIndex],
      ['route', this.routeIndex],
      ['consumer', this.consumerIndex],
      ['consumer_group', this.groupIndex],
    ];
    for (const [kind, index] of references) {
      const reference = raw[kind];
      if (!reference) continue;
      if (owner[kind] !== undefined) throw this.source.error([...where, kind], `a plugin nested in a ${kind} cannot name another ${kind}`);
      scope[kind] = index.resolve(reference, [...where, kind]).id;
    }
    const location = formatPath(where);
    const scopeKey = [raw.name, scope.route, scope.service, scope.consumer, scope.consumer_group, raw.instance_name];
    const plugin: DeclarativePlugin = {
      id: raw.id ?? stableId('plugins', scopeKey.map((part) => part ?? '').join(':')),
      name: raw.name,
      enabled: raw.enabled ?? true,
      config: raw.config ?? {},
      ...scope,
      ...(raw.instance_name != null && { instance_name: raw.instance_name }),
      location,
    };
    const sameScope = this.plugins.find(
      (other) =>
        other.name === plugin.name &&
        other.route === plugin.route &&
        other.service === plugin.service &&
        other.consumer === plugin.consumer &&
        other.consumer_group === plugin.consumer_group,
    );
    if (sameScope) {
      throw this.source.error(where, `plugin ${plugin.name} is configured twice for the same scope (also at ${sameScope.location})`);
    }
    this.plugins.push(plugin);
    this.pluginIndex.add(plugin, []);
  }
}
