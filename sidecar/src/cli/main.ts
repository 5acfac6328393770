import { KeybridgeError } from '../errors.ts';
import { VERSION } from '../version.ts';
import { CliError, EXIT_ERROR, EXIT_OK, EXIT_USAGE, UsageError } from './errors.ts';
import { CERTIFICATES_USAGE, certCommand, productionCommand, registerCommand } from './commands/certificates.ts';
import { KEYS_USAGE, keysCommand } from './commands/keys.ts';
import { SHIMS_USAGE, shimsCommand } from './commands/shims.ts';
import { ROLES_USAGE, agentCommand, serverCommand } from './commands/roles.ts';
import { STATUS_USAGE, statusCommand } from './commands/status.ts';
import { TRANSFER_USAGE, exportCommand, importCommand } from './commands/transfer.ts';
import { UP_USAGE, upCommand } from './commands/up.ts';

const USAGE = `keybridge ${VERSION}: keeps a site's secrets out of its database

${UP_USAGE}
${ROLES_USAGE}
${STATUS_USAGE}
${KEYS_USAGE}
${CERTIFICATES_USAGE}
${TRANSFER_USAGE}
${SHIMS_USAGE}

Commands that talk to the agent accept --agent URL, --token-file F, --home DIR
(or KEYBRIDGE_AGENT, KEYBRIDGE_TOKEN_FILE, KEYBRIDGE_HOME). Exit codes: 0 ok, 1 error, 2 usage.`;

/** Runs one command; returns the exit code. Never prints a stack trace for expected failures. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'up':
        return await upCommand(rest);
      case 'server':
        return await serverCommand(rest);
      case 'agent':
        return await agentCommand(rest);
      case 'status':
        return await statusCommand(rest);
      case 'keys':
        await keysCommand(rest);
        return EXIT_OK;
      case 'register':
        await registerCommand(rest);
        return EXIT_OK;
      case 'cert':
        await certCommand(rest);
        return EXIT_OK;
      case 'production':
        await productionCommand(rest);
        return EXIT_OK;
      case 'import':
        await importCommand(rest);
        return EXIT_OK;
      case 'export':
        await exportCommand(rest);
        return EXIT_OK;
      case 'shims':
        await shimsCommand(rest);
        return EXIT_OK;
      case 'version':
      case '--version':
        process.stdout.write(`${VERSION}\n`);
        return EXIT_OK;
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return EXIT_OK;
      case undefined:
        process.stderr.write(`${USAGE}\n`);
        return EXIT_USAGE;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`keybridge: ${error.message}\n\n${USAGE}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof KeybridgeError) {
      process.stderr.write(`keybridge: ${error.message}${error.field ? ` (${error.field})` : ''} [${error.type}]\n`);
      return EXIT_ERROR;
    }
    if (error instanceof CliError) {
      process.stderr.write(`keybridge: ${error.message}\n`);
      return EXIT_ERROR;
    }
    process.stderr.write(`keybridge: unexpected error: ${(error as Error)?.message ?? String(error)}\n`);
    return EXIT_ERROR;
  }
}
