import type { SecretStore } from '../secrets/secret-store.js';
import { WORKLOAD_SECRETS_NAMESPACE } from '../secrets/toolhive-secrets.js';
import type { LaunchPlan } from './workload-runtime.js';
import type { WorkloadRecord } from './workload.js';

/** The launch plan of a workload with its secret values read now, from the owner's store; a missing secret stops the start. */
export const launchPlanOf = async (r: WorkloadRecord, secrets: SecretStore): Promise<LaunchPlan> => {
  const c = r.config;
  const env = { ...c.env };
  for (const s of c.secrets) {
    const value = await secrets.get(r.ownerName, WORKLOAD_SECRETS_NAMESPACE, s.name);
    if (value === undefined) throw new Error(`secret '${s.name}' (for ${s.target}) is not in ${r.ownerName}'s secrets`);
    env[s.target] = value;
  }
  const headers = { ...c.headers };
  for (const [header, secret] of Object.entries(c.headerSecrets)) {
    const value = await secrets.get(r.ownerName, WORKLOAD_SECRETS_NAMESPACE, secret);
    if (value === undefined) throw new Error(`secret '${secret}' (for header ${header}) is not in ${r.ownerName}'s secrets`);
    headers[header] = value;
  }
  return { name: r.name, source: c.source, env, headers, profile: c.profile, networkIsolation: c.networkIsolation };
};
