/**
 * Emits `Keybridge_Client`: the transport (client-transport.ts and client-http.ts, the same
 * for every spec) followed by one public method per spec operation.
 */
import { CLIENT_HTTP } from './client-http.ts';
import { CLIENT_TRANSPORT } from './client-transport.ts';
import { bodyKind } from './emit-spec.ts';
import { docBlock, generatedFileHeader } from './php-doc.ts';
import { phpString } from './php-literal.ts';
import { phpMethodName, type Operation, type Spec } from './spec.ts';
import type { ShimTarget } from './target.ts';

function requestFields(op: Operation): string {
  const required = new Set(op.request?.required ?? []);
  return Object.keys(op.request?.properties ?? {})
    .map((name) => (required.has(name) ? `${name} (required)` : name))
    .join(', ');
}

function timeoutText(op: Operation): string {
  return op.timeoutMs === undefined ? 'the short default timeout' : `a timeout of ${op.timeoutMs} ms`;
}

function operationMethod(op: Operation): string {
  const kind = bodyKind(op);
  const method = phpMethodName(op.id);
  const auth = op.auth ? '' : ' No token is sent.';
  const tags: string[] = [];
  let signature: string;
  let call: string;
  if (kind === 'none') {
    signature = `public function ${method}(): array`;
    call = `return $this->call( ${phpString(op.id)} );`;
  } else {
    const fields = `Request fields: ${requestFields(op)}.`;
    tags.push(`@param array $body ${fields}`);
    signature = `public function ${method}( array $body${kind === 'optional' ? ' = array()' : ''} ): array`;
    call = `return $this->call( ${phpString(op.id)}, $body );`;
  }
  tags.push('@return array The decoded JSON object the agent answered.');
  tags.push('@throws Keybridge_Exception On any failure; see Keybridge_Exception::problem_type().');
  const doc = docBlock([`Calls ${op.id}: ${op.summary}`, `${op.method} ${op.path}, with ${timeoutText(op)}.${auth}`], tags, 1);
  return `${doc}\n\t${signature} {\n\t\t${call}\n\t}`;
}

export function emitClientClass(spec: Spec, target: ShimTarget): string {
  const className = `${target.classPrefix}Client`;
  return [
    generatedFileHeader(`${className}: the keybridge agent's local API for PHP.`, target.packageName),
    '',
    docBlock(
      [
        'Calls the keybridge agent over its unix socket or loopback HTTP: one public method per operation in shims/spec.yaml, plus call() by operation id.',
        'One connection per client (a plain socket speaking HTTP/1.1), opened on the first call and kept for the next ones (keep-alive). The bearer token is read from its file on the first call that needs it and never appears in a message. Every failure is a Keybridge_Exception. Needs Keybridge_Spec and Keybridge_Exception loaded.',
      ],
      [],
      0,
    ),
    `class ${className} {`,
    '',
    CLIENT_TRANSPORT.replace(/\bKeybridge_/g, target.classPrefix),
    '',
    CLIENT_HTTP.replace(/\bKeybridge_/g, target.classPrefix),
    '',
    spec.operations.map(operationMethod).join('\n\n'),
    '}',
    '',
  ].join('\n');
}
