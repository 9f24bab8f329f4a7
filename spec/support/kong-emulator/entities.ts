import type {
  DeclarativeConfig,
  DeclarativeConsumer,
  DeclarativeRoute,
  DeclarativeService,
} from '../../../plugins/runtime/config/declarative';

/** The default workspace id Kong reports in ws_id / serialize().workspace (random per install; fixed here). */
export const DEFAULT_WORKSPACE_ID = '0dc6f45b-8f8d-40d2-a504-473544ee190b';

export type Entity = Record<string, unknown>;

/** Entities shaped as Kong's DAO returns them (unset optional fields absent, Kong's defaults present). */
export class EntityStore {
  readonly routes = new Map<string, Entity>();
  readonly services = new Map<string, Entity>();
  readonly consumers = new Map<string, Entity>();
  readonly consumerGroups = new Map<string, Entity>();
  /** keyauth credential entities by key. */
  readonly keyauthByKey = new Map<string, Entity>();
  private readonly groupsByConsumer = new Map<string, string[]>();

  constructor(cfg: DeclarativeConfig, createdAt = Math.floor(Date.now() / 1000)) {
    const stamp = { created_at: createdAt, updated_at: createdAt };
    for (const s of cfg.services) this.services.set(s.id, serviceEntity(s, stamp));
    for (const r of cfg.routes) this.routes.set(r.id, routeEntity(r, stamp));
    for (const g of cfg.consumer_groups) {
      this.consumerGroups.set(g.id, compact({ id: g.id, name: g.name, tags: g.tags, created_at: createdAt, updated_at: createdAt, ws_id: DEFAULT_WORKSPACE_ID }));
    }
    for (const c of cfg.consumers) {
      this.consumers.set(c.id, consumerEntity(c, stamp));
      this.groupsByConsumer.set(c.id, c.groups);
      for (const cred of c.keyauth_credentials) {
        this.keyauthByKey.set(cred.key, { id: cred.id, key: cred.key, consumer: { id: c.id }, created_at: createdAt, ws_id: DEFAULT_WORKSPACE_ID });
      }
    }
  }

  findConsumer(idOrName: string, byUsername: boolean): Entity | undefined {
    if (!byUsername) return this.consumers.get(idOrName);
    return [...this.consumers.values()].find((c) => c.username === idOrName);
  }

  groupIdsOf(consumerId: string): string[] {
    return this.groupsByConsumer.get(consumerId) ?? [];
  }

  groupsOf(consumerId: string): Entity[] {
    return this.groupIdsOf(consumerId).map((id) => this.consumerGroups.get(id)).filter((g): g is Entity => !!g);
  }
}

function compact(o: Entity): Entity {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

function serviceEntity(s: DeclarativeService, stamp: Entity): Entity {
  return compact({
    id: s.id,
    name: s.name,
    protocol: s.protocol,
    host: s.host,
    port: s.port,
    path: s.path,
    retries: s.retries ?? 5,
    connect_timeout: s.connect_timeout ?? 60000,
    write_timeout: s.write_timeout ?? 60000,
    read_timeout: s.read_timeout ?? 60000,
    enabled: true,
    tags: s.tags,
    ws_id: DEFAULT_WORKSPACE_ID,
    ...stamp,
  });
}

function routeEntity(r: DeclarativeRoute, stamp: Entity): Entity {
  return compact({
    id: r.id,
    name: r.name,
    protocols: r.protocols,
    methods: r.methods,
    hosts: r.hosts,
    paths: r.paths,
    headers: r.headers,
    https_redirect_status_code: 426,
    regex_priority: r.regex_priority,
    strip_path: r.strip_path,
    path_handling: 'v0',
    preserve_host: r.preserve_host,
    request_buffering: true,
    response_buffering: true,
    service: r.service ? { id: r.service } : undefined,
    tags: r.tags,
    ws_id: DEFAULT_WORKSPACE_ID,
    ...stamp,
  });
}

function consumerEntity(c: DeclarativeConsumer, stamp: Entity): Entity {
  return compact({ id: c.id, username: c.username, custom_id: c.custom_id, tags: c.tags, ws_id: DEFAULT_WORKSPACE_ID, ...stamp });
}
