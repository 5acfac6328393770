import { resolve } from 'node:path';
import { parseListen } from '../../config/listen.ts';
import { cmsConfigLines, up } from '../../roles/up.ts';
import { parse } from '../args.ts';
import { accessLogLine, createLineWriter } from '../log-writer.ts';
import { defaultHome } from '../agent-client.ts';

const accessLog = createLineWriter();

export const UP_USAGE = 'keybridge up [--home DIR] [--listen HOST:PORT | --listen unix:/path] [--webroot DIR]... [--no-register]';
export const DEFAULT_LISTEN = '127.0.0.1:8877';

/** Runs the embedded key service and agent in the foreground until SIGINT/SIGTERM. */
export async function upCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      home: { type: 'string' },
      listen: { type: 'string' },
      // The site's webroot: the status table turns red if the certificate directory is inside it.
      webroot: { type: 'string', multiple: true },
      // Leave registration to the site owner (the CMS admin screen's register form).
      'no-register': { type: 'boolean' },
    },
    { min: 0, max: 0 },
  );
  const home = resolve(defaultHome(values.home));
  const instance = await up({
    home,
    register: !values['no-register'],
    webroots: (values.webroot ?? []).map((dir) => resolve(dir)),
    listen: parseListen(values.listen ?? process.env.KEYBRIDGE_LISTEN ?? DEFAULT_LISTEN, '--listen'),
    // One JSON line per request on stderr: method, path, status, duration. No bodies, no headers.
    log: (entry) => accessLog(accessLogLine(entry)),
  });
  process.stdout.write(
    [
      `keybridge is up: agent ${instance.url}, home ${home}`,
      'embedded default: SQLite storage, software root key, development environment',
      '',
      cmsConfigLines(instance.url, instance.tokenFile),
      '',
      'Try: echo -n s3cret > /tmp/v && keybridge keys set demo --value-file /tmp/v',
      '',
    ].join('\n'),
  );
  return new Promise<number>((resolveExit) => {
    const stop = () => {
      process.stderr.write('keybridge: shutting down\n');
      instance.close().then(
        () => resolveExit(0),
        () => resolveExit(1),
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
