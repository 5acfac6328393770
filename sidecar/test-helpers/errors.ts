import { KeybridgeError } from '../src/errors.ts';

/** The problem type `fn` throws, or 'no error'; anything but a KeybridgeError is rethrown. */
export function errorType(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof KeybridgeError) return error.type;
    throw error;
  }
  return 'no error';
}
