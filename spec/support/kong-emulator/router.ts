import { normalizePath } from './pdk/request';
import type { Entity } from './entities';
import type { HeaderList } from './request-state';

export interface RouteMatch {
  route: Entity;
  service: Entity | undefined;
  /** the part of the path after the matched prefix/regex (router uri_postfix) */
  postfix: string;
  /** the matched prefix (X-Forwarded-Prefix when not "/") */
  prefix: string;
  /** upstream_uri per path_handling v0 */
  upstreamUri: string;
}

interface Candidate {
  route: Entity;
  service: Entity | undefined;
  weight: number;
  path: { value: string; regex?: RegExp } | undefined;
}

const WEIGHT = { hosts: 0x40, headers: 0x20, paths: 0x10, methods: 0x08 };

/**
 * Kong's router for http routes: methods, hosts (exact or wildcard), headers, paths (plain prefix or `~` regex).
 * Order: routes with more kinds of criteria first (hosts > headers > paths > methods), then regex paths by
 * regex_priority, then the longest plain prefix, then declaration order.
 */
export class Router {
  private readonly candidates: Candidate[] = [];

  constructor(routes: Iterable<Entity>, services: Map<string, Entity>) {
    let order = 0;
    const ordered: (Candidate & { order: number })[] = [];
    for (const route of routes) {
      const protocols = (route.protocols as string[] | undefined) ?? ['http', 'https'];
      if (!protocols.includes('http') && !protocols.includes('https')) continue;
      const service = route.service ? services.get((route.service as { id: string }).id) : undefined;
      let weight = 0;
      for (const [key, bit] of Object.entries(WEIGHT)) if (nonEmpty(route[key])) weight |= bit;
      const paths = (route.paths as string[] | undefined) ?? [];
      if (paths.length === 0) ordered.push({ route, service, weight, path: undefined, order: order++ });
      for (const p of paths) {
        const path = p.startsWith('~') ? { value: p, regex: new RegExp(`^(?:${p.slice(1)})`) } : { value: p };
        ordered.push({ route, service, weight, path, order: order++ });
      }
    }
    ordered.sort((a, b) => b.weight - a.weight || comparePaths(a, b) || a.order - b.order);
    this.candidates = ordered;
  }

  match(method: string, rawPath: string, host: string, headers: HeaderList): RouteMatch | undefined {
    const path = normalizePath(rawPath);
    for (const c of this.candidates) {
      const methods = c.route.methods as string[] | undefined;
      if (nonEmpty(methods) && !methods!.includes(method.toUpperCase())) continue;
      const hosts = c.route.hosts as string[] | undefined;
      if (nonEmpty(hosts) && !hosts!.some((h) => hostMatches(h, host))) continue;
      const wanted = c.route.headers as Record<string, string[]> | undefined;
      if (nonEmpty(wanted) && !headersMatch(wanted!, headers)) continue;
      let postfix = path.slice(1);
      let prefix = '/';
      if (c.path) {
        if (c.path.regex) {
          const m = c.path.regex.exec(path);
          if (!m) continue;
          prefix = m[0];
          postfix = path.slice(m[0].length);
        } else {
          if (!path.startsWith(c.path.value)) continue;
          prefix = c.path.value;
          postfix = path.slice(c.path.value.length);
        }
      }
      const base = (c.service?.path as string | undefined) ?? '/';
      return { route: c.route, service: c.service, postfix, prefix, upstreamUri: upstreamUriV0(c.route.strip_path === true, postfix, path, base) };
    }
    return undefined;
  }
}

function nonEmpty(v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0;
  return typeof v === 'object' && v !== null && Object.keys(v).length > 0;
}

function comparePaths(a: Candidate, b: Candidate): number {
  if (!a.path || !b.path) return (b.path ? 1 : 0) - (a.path ? 1 : 0);
  if (a.path.regex && b.path.regex) return Number(b.route.regex_priority ?? 0) - Number(a.route.regex_priority ?? 0);
  if (a.path.regex || b.path.regex) return a.path.regex ? -1 : 1;
  return b.path.value.length - a.path.value.length;
}

function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase().replace(/:\d+$/, '');
  if (p.startsWith('*.')) return host.endsWith(p.slice(1)) && host.length > p.length - 1;
  if (p.endsWith('.*')) return host.startsWith(p.slice(0, -1));
  return p === host;
}

function headersMatch(wanted: Record<string, string[]>, headers: HeaderList): boolean {
  return Object.entries(wanted).every(([name, values]) => {
    const got = headers.getAll(name).map((v) => v.toLowerCase());
    return values.some((v) => (v.startsWith('~*') ? got.some((g) => new RegExp(v.slice(2), 'i').test(g)) : got.includes(v.toLowerCase())));
  });
}

/** kong.router.utils get_upstream_uri_v0. */
export function upstreamUriV0(stripPath: boolean, postfix: string, reqUri: string, base: string): string {
  if (base.endsWith('/')) {
    if (stripPath) {
      if (postfix === '') {
        if (base === '/') return '/';
        return reqUri.endsWith('/') ? base : base.slice(0, -1);
      }
      return postfix.startsWith('/') ? base.slice(0, -1) + postfix : base + postfix;
    }
    return base + reqUri.slice(1);
  }
  if (stripPath) {
    if (postfix === '') return reqUri.length > 1 && reqUri.endsWith('/') ? `${base}/` : base;
    return postfix.startsWith('/') ? base + postfix : `${base}/${postfix}`;
  }
  return reqUri === '/' ? base : base + reqUri;
}
