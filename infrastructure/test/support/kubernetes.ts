import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { INFRASTRUCTURE, type Yaml } from './repository.js';

export const KUBERNETES = join(INFRASTRUCTURE, 'kubernetes');
export const OVERLAYS = ['small', 'ha'] as const;
export type Overlay = (typeof OVERLAYS)[number];

/** The objects an overlay renders to, as `kubectl kustomize` (kustomize v5) prints them. */
export function render(overlay: Overlay): Yaml[] {
  const output = execFileSync('kubectl', ['kustomize', join(KUBERNETES, 'overlays', overlay)], {
    encoding: 'utf8',
    timeout: 30_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return parseAllDocuments(output)
    .map((document) => document.toJS() as Yaml)
    .filter(Boolean);
}

export const find = (objects: readonly Yaml[], kind: string, name: string): Yaml => {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};

/** The package whose models validate a group's objects against its published schemas. */
const MODEL_PACKAGES: Record<string, string> = {
  v1: 'kubernetes-models/v1',
  'apps/v1': 'kubernetes-models/apps/v1',
  'batch/v1': 'kubernetes-models/batch/v1',
  'autoscaling/v2': 'kubernetes-models/autoscaling/v2',
  'policy/v1': 'kubernetes-models/policy/v1',
  'networking.k8s.io/v1': 'kubernetes-models/networking.k8s.io/v1',
  'postgresql.cnpg.io/v1': '@kubernetes-models/cloudnative-pg/postgresql.cnpg.io/v1',
  'monitoring.coreos.com/v1': '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1',
};

/**
 * The redis-operator publishes no models: its objects are checked for the fields this deployment relies
 * on (the sizes, the image, the password Secret) and nothing else.
 */
const REDIS_OPERATOR_GROUP = 'redis.redis.opstreelabs.in/v1beta2';

function validateRedisOperatorObject(object: Yaml): void {
  const { kind, spec } = object;
  if (kind !== 'RedisReplication' && kind !== 'RedisSentinel') throw new Error(`unknown redis-operator kind ${kind}`);
  if (!Number.isInteger(spec?.clusterSize) || spec.clusterSize < 1) throw new Error(`${kind}: clusterSize`);
  if (typeof spec.kubernetesConfig?.image !== 'string') throw new Error(`${kind}: kubernetesConfig.image`);
  if (kind === 'RedisReplication' && !spec.kubernetesConfig.redisSecret?.name) throw new Error(`${kind}: redisSecret`);
  if (kind === 'RedisSentinel' && !spec.redisSentinelConfig?.redisReplicationName) {
    throw new Error(`${kind}: redisSentinelConfig.redisReplicationName`);
  }
}

/**
 * Validates one object against its API group's schema (types, required fields, enums, formats);
 * throws with the schema's complaint. Unknown kinds and groups are errors, not passes.
 */
export async function validate(object: Yaml): Promise<void> {
  const { apiVersion, kind } = object;
  if (apiVersion === REDIS_OPERATOR_GROUP) return validateRedisOperatorObject(object);
  const modulePath = MODEL_PACKAGES[apiVersion];
  if (!modulePath) throw new Error(`no schema for ${apiVersion}`);
  const models: Record<string, new (data: Yaml) => { validate(): void }> = await import(modulePath);
  const Model = models[kind];
  if (!Model) throw new Error(`no schema for ${apiVersion} ${kind}`);
  new Model(object).validate();
}

/** Kubernetes quantities as numbers: CPU in cores ("500m", "1"), memory in MiB ("256Mi", "1Gi"). */
export const cores = (quantity: string | number): number =>
  typeof quantity === 'number'
    ? quantity
    : quantity.endsWith('m')
      ? Number(quantity.slice(0, -1)) / 1000
      : Number(quantity);

export const mebibytes = (quantity: string): number => {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 : 1);
};

/** Compose's memory limits ("256m", "1g") in MiB. */
export const composeMebibytes = (quantity: string): number => {
  const match = /^(\d+)([mg])$/.exec(quantity);
  if (!match) throw new Error(`unexpected Compose memory ${quantity}`);
  return Number(match[1]) * (match[2] === 'g' ? 1024 : 1);
};

/**
 * The environment a container starts with: its ConfigMaps (envFrom), then its own `env` with `$(NAME)`
 * references expanded as the kubelet does; a Secret's key is read from `secrets` (name/key), since the
 * manifests only reference Secrets.
 */
export function containerEnv(
  objects: readonly Yaml[],
  container: Yaml,
  secrets: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    Object.assign(env, find(objects, 'ConfigMap', source.configMapRef.name).data);
  }
  for (const variable of container.env ?? []) {
    if (variable.valueFrom?.secretKeyRef) {
      const { name, key } = variable.valueFrom.secretKeyRef;
      const value = secrets[`${name}/${key}`];
      if (value === undefined) throw new Error(`${variable.name}: no example value for Secret ${name} key ${key}`);
      env[variable.name] = value;
    } else {
      env[variable.name] = String(variable.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (reference, name) =>
        name in env ? env[name]! : reference,
      );
    }
  }
  return env;
}
