export { openClusterBus, MemoryClusterBus, type BrokerStatus, type ClusterBus, type ClusterBusOptions, type ClusterListener, type ClusterMessage } from './bus.js';
export { joinCluster, type ClusterMembership, type JoinOptions } from './membership.js';
export { readClusterUrl, storedClusterUrl } from './public-url.js';
export { sharedSettings, type SharedSetting } from './settings.js';
