import type { RequestContext } from '../auth/principal.js';
import type { CoreDeps } from '../core-deps.js';
import { unprocessable } from '../errors.js';
import type { WorkloadAccess } from './workload-access.js';
import type { UpgradeCheck, WorkloadConfigs } from './workload-config.js';
import type { WorkloadLogs } from './workload-runtime.js';
import type { WorkloadStore } from './workload-store.js';
import type { WorkloadSupervisors } from './workload-supervisors.js';
import type { SecretRef, WorkloadConfig, WorkloadRecord } from './workload.js';

export interface WorkloadUpgradeDeps {
  core: CoreDeps;
  store: WorkloadStore;
  configs: WorkloadConfigs;
  access: WorkloadAccess;
  supervisors: WorkloadSupervisors;
  logs: WorkloadLogs;
  line(event: string, fields: Record<string, unknown>): string;
  now(): string;
}

/**
 * Moves a registry-sourced workload to the registry's latest version, keeping its configuration
 * (plus `env` and `secrets` sent), and rolls back to the old version when the new one does not come
 * up healthy. 422 when there is nothing to upgrade to.
 */
export const upgradeWorkload = async (deps: WorkloadUpgradeDeps, ctx: RequestContext, name: string, extra: { env?: Record<string, string>; secrets?: SecretRef[] }): Promise<UpgradeCheck> => {
  const { core, store, configs, supervisors, logs, line } = deps;
  core.policy.requireWritable();
  const r = await deps.access.managed(ctx, name);
  const check = await configs.checkOne(ctx, r);
  if (check.status !== 'upgrade-available') throw unprocessable(`Workload '${name}' has no upgrade to apply (${check.status}${check.reason ? `: ${check.reason}` : ''})`);
  const { source, registry, declaredEnv } = await configs.sourceFor(ctx, { server: r.config.registryServer });
  const config: WorkloadConfig = {
    ...r.config,
    source,
    registryVersion: registry?.version,
    env: { ...r.config.env, ...configs.checkedEnv(extra.env ?? {}) },
    secrets: [...r.config.secrets.filter((s) => !(extra.secrets ?? []).some((x) => x.target === s.target)), ...configs.checkedSecrets(extra.secrets ?? [])],
  };
  configs.checkDeclaredEnv(config, declaredEnv);
  await configs.checkRunnable(config);
  const previous = r;
  const next: WorkloadRecord = { ...r, config, desired: 'running', updatedAt: deps.now() };
  await store.update(next);
  await core.audit.record(core.storage.audit, ctx, 'workload.upgrade', `workload:${name}`, { from: check.currentImage, to: check.candidateImage });
  logs.append(name, 'proxy', line('upgrade', { from: check.currentImage, to: check.candidateImage }));
  await supervisors.halt(name);
  const healthy = await supervisors.supervise(next);
  // The status it reached is stored before the answer goes out.
  await supervisors.writes.last(name);
  if (!healthy) {
    await supervisors.halt(name);
    await store.update({ ...previous, desired: 'running', updatedAt: deps.now() });
    logs.append(name, 'proxy', line('upgrade rolled back', { to: check.currentImage }));
    void supervisors.supervise({ ...previous, desired: 'running' });
    throw unprocessable(
      `The upgrade of '${name}' to ${check.candidateVersion ?? check.candidateImage} failed its health check; rolled back to ${r.config.registryVersion ?? check.currentImage} (see the workload's logs)`,
    );
  }
  return { ...(await configs.checkOne(ctx, { ...next })), status: 'up-to-date' };
};
