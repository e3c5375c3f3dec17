import { clientSchema } from './client-schema.js';
import { defaultsOf } from './schema.js';

/**
 * Every default of the standard pipeline, read off the options schema (config/client-schema.ts,
 * where each one is declared with its unit): change a default there, never here.
 */
export const DEFAULTS = defaultsOf(clientSchema);
