import { z } from 'zod';

/**
 * The shape of a Kong/decK declarative file as far as the suite reads it. Objects are loose: entity fields and
 * entity kinds the suite does not use (upstreams, certificates, tls_verify, ...) pass through unchecked.
 */

const id = z.string().min(1);
const tags = z.array(z.string());

/** A foreign key: `service: chat-upstream`, `service: { name: chat-upstream }` or `{ id: ... }`. */
export const rawReference = z.union([
  z.string().min(1),
  z.looseObject({ id: id.optional(), name: z.string().optional(), username: z.string().optional() }),
]);
export type RawReference = z.infer<typeof rawReference>;

export const rawPlugin = z.looseObject({
  id: id.optional(),
  name: z.string().min(1),
  enabled: z.boolean().optional(),
  config: z.record(z.string(), z.unknown()).nullish(),
  instance_name: z.string().nullish(),
  service: rawReference.nullish(),
  route: rawReference.nullish(),
  consumer: rawReference.nullish(),
  consumer_group: rawReference.nullish(),
  tags: tags.optional(),
});

export const rawRoute = z.looseObject({
  id: id.optional(),
  name: z.string().min(1).optional(),
  service: rawReference.nullish(),
  paths: z.array(z.string()).optional(),
  methods: z.array(z.string()).optional(),
  hosts: z.array(z.string()).optional(),
  headers: z.record(z.string(), z.array(z.string())).optional(),
  strip_path: z.boolean().optional(),
  preserve_host: z.boolean().optional(),
  protocols: z.array(z.string()).optional(),
  regex_priority: z.int().optional(),
  tags: tags.optional(),
  plugins: z.array(rawPlugin).optional(),
});

export const rawService = z.looseObject({
  id: id.optional(),
  name: z.string().min(1).optional(),
  url: z.string().optional(),
  protocol: z.string().optional(),
  host: z.string().optional(),
  port: z.int().min(0).max(65535).optional(),
  path: z.string().optional(),
  retries: z.int().min(0).optional(),
  connect_timeout: z.int().min(1).optional(),
  read_timeout: z.int().min(1).optional(),
  write_timeout: z.int().min(1).optional(),
  tags: tags.optional(),
  routes: z.array(rawRoute).optional(),
  plugins: z.array(rawPlugin).optional(),
});

export const rawConsumer = z.looseObject({
  id: id.optional(),
  username: z.string().min(1).optional(),
  custom_id: z.string().min(1).optional(),
  tags: tags.optional(),
  plugins: z.array(rawPlugin).optional(),
  keyauth_credentials: z.array(z.looseObject({ id: id.optional(), key: z.string().min(1) })).optional(),
  groups: z.array(rawReference).optional(),
});

export const rawConsumerGroup = z.looseObject({
  id: id.optional(),
  name: z.string().min(1),
  tags: tags.optional(),
  consumers: z.array(rawReference).optional(),
  plugins: z.array(rawPlugin).optional(),
});

export const SUPPORTED_FORMAT_VERSIONS = ['1.1', '2.1', '3.0'] as const;

export const rawDeclarativeFile = z.looseObject({
  // An unquoted `_format_version: 3.0` reaches us as the number 3.
  _format_version: z.preprocess((v) => (typeof v === 'number' ? v.toFixed(1) : v), z.enum(SUPPORTED_FORMAT_VERSIONS)),
  services: z.array(rawService).nullish(),
  routes: z.array(rawRoute).nullish(),
  consumers: z.array(rawConsumer).nullish(),
  consumer_groups: z.array(rawConsumerGroup).nullish(),
  plugins: z.array(rawPlugin).nullish(),
});

export type RawPlugin = z.infer<typeof rawPlugin>;
export type RawRoute = z.infer<typeof rawRoute>;
export type RawService = z.infer<typeof rawService>;
export type RawConsumer = z.infer<typeof rawConsumer>;
export type RawConsumerGroup = z.infer<typeof rawConsumerGroup>;
export type RawDeclarativeFile = z.infer<typeof rawDeclarativeFile>;
