/** The egress policy: the one gate every outbound request of the server goes through. */
export { EgressError, EgressPolicy, isEgressError, UNREACHABLE } from './egress-policy.js';
export type { EgressLogger, EgressOptions, Resolver } from './egress-policy.js';
export { AllowList } from './allow-list.js';
export type { Destination } from './allow-list.js';
export { embeddedIPv4, refusedKind } from './address-ranges.js';
export type { RefusedKind } from './address-ranges.js';
export { EgressProxy, EGRESS_BRIDGE_SCRIPT } from './egress-proxy.js';
export type { EgressProxyDecision, EgressProxyOptions } from './egress-proxy.js';
