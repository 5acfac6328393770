/**
 * The two environments a site's values live in. Crypto binds the environment into every
 * value's AAD and key id, so the type lives here, where everything may import it.
 */
export type Environment = 'development' | 'production';
export const ENVIRONMENTS: readonly Environment[] = ['development', 'production'];
