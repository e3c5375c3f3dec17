export { type Clock, systemClock, type Timer } from './clock.js';
export { type RefreshTiming, type RefreshTimingOptions, refreshTiming } from './timing.js';
export { TokenManager } from './token-manager.js';
export type { LocalToken, TokenManagerConfig } from './types.js';
