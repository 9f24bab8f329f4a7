import type { Identity } from '../runtime/context';
import type { IncomingHttpHeaders } from 'node:http';
import type { TagConfig } from './schema';

/**
 * Who a request's cost belongs to. Consumer, groups, route and service come from Kong (trusted); tags come from
 * consumer tags (trusted) or request headers (chosen by the client).
 */
export interface Attribution {
  consumer: string;
  consumer_groups: string[];
  route: string;
  service: string;
  provider: string;
  model: string;
  tags: Record<string, string>;
}

export const NONE = 'none';
const MAX_VALUE_CHARS = 64;

/** Values go into store keys and reports: printable, bounded, no key separators. */
export function cleanValue(raw: string): string {
  const cleaned = raw.trim().replace(/[^A-Za-z0-9_.@/+=-]/g, '_').slice(0, MAX_VALUE_CHARS);
  return cleaned === '' ? NONE : cleaned;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  const first = Array.isArray(v) ? v[0] : v;
  return first && first.trim() !== '' ? first : undefined;
}

/** Kong consumer tags, where the identity carries them (see the report: Identity has no tags yet). */
function consumerTags(identity: Identity): string[] {
  const tags = (identity.consumer as { tags?: unknown } | undefined)?.tags;
  return Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : [];
}

export function tagValues(tags: readonly TagConfig[], identity: Identity, headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  const fromConsumer = consumerTags(identity);
  for (const tag of tags) {
    let raw: string | undefined;
    if (tag.consumer_tag_prefix) {
      const hit = fromConsumer.find((t) => t.startsWith(tag.consumer_tag_prefix!));
      if (hit !== undefined && hit.length > tag.consumer_tag_prefix.length) raw = hit.slice(tag.consumer_tag_prefix.length);
    }
    if (raw === undefined && tag.header) raw = headerValue(headers, tag.header);
    let value = raw === undefined ? tag.default : cleanValue(raw);
    if (raw !== undefined && tag.allowed_values.length > 0 && !tag.allowed_values.includes(value)) value = 'other';
    out[tag.name] = value;
  }
  return out;
}

export function consumerName(identity: Identity): string {
  const c = identity.consumer;
  return c ? cleanValue(c.username ?? c.custom_id ?? c.id) : 'anonymous';
}

export function attributionOf(
  identity: Identity,
  headers: IncomingHttpHeaders,
  tags: readonly TagConfig[],
  provider: string | undefined,
  model: string | undefined,
): Attribution {
  return {
    consumer: consumerName(identity),
    consumer_groups: identity.consumerGroups.map(cleanValue),
    route: identity.route ? cleanValue(identity.route.name ?? identity.route.id) : NONE,
    service: identity.service ? cleanValue(identity.service.name ?? identity.service.id) : NONE,
    provider: provider ? cleanValue(provider) : NONE,
    model: model ? cleanValue(model) : NONE,
    tags: tagValues(tags, identity, headers),
  };
}

/**
 * The values of one dimension. consumer_group has one value per group (a request of a consumer in two groups
 * counts against both groups' budgets); a consumer in no group has the value "none".
 */
export function dimensionValues(a: Attribution, dimension: string): string[] {
  switch (dimension) {
    case 'consumer':
      return [a.consumer];
    case 'consumer_group':
      return a.consumer_groups.length > 0 ? a.consumer_groups : [NONE];
    case 'route':
      return [a.route];
    case 'service':
      return [a.service];
    case 'provider':
      return [a.provider];
    case 'model':
      return [a.model];
    default:
      return [a.tags[dimension.slice('tag:'.length)] ?? NONE];
  }
}

/** Every combination of the dimensions' values (a cartesian product; one element per group membership). */
export function combinations(a: Attribution, dimensions: readonly string[]): string[][] {
  let out: string[][] = [[]];
  for (const d of dimensions) {
    const values = dimensionValues(a, d);
    out = out.flatMap((prefix) => values.map((v) => [...prefix, v]));
  }
  return out;
}

/** "team data-science in env dev" — how budgets are named to people. */
export function describeValues(dimensions: readonly string[], values: readonly string[]): string {
  return dimensions
    .map((d, i) => `${d.startsWith('tag:') ? d.slice(4) : d.replace('_', ' ')} ${values[i]}`)
    .join(' in ');
}
