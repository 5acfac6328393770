<?php
/**
 * Test helper: produce Lockr ciphertexts with PHP's own openssl_encrypt/hash_hmac, mirroring
 * the *encrypt* side of Lockr's key wrappers (lockr/lockr-php and lockr/lockr-client,
 * src/KeyWrapper/*.php). Used by sidecar/src/crypto/lockr.test.ts.
 *
 * stdin:  JSON array of jobs {"wrapper": NAME, "plaintext_b64": …, optional "key_b64",
 *         "iv_b64", "hmac_key_b64", "key_len"}
 * stdout: JSON array of {"wrapping_key": the key string the CMS stored,
 *         "output_b64": base64 of the wrapper's output bytes (the REST API returned these
 *         bytes as they are), "graphql_value": what Lockr's GraphQL API stored and returned
 *         (Lockr::createSecretValue sends base64_encode(wrapper output))}.
 *
 * NAME                           mirrors
 * v2                             LockrAes256CbcSha256RawKeyWrapper ("$2$", raw output)
 * v1                             LockrAes256CbcSha256KeyWrapper ("$1$", base64 output)
 * v1-raw                         the same as in lockr/lockr 1.0.0–1.0.5 (raw output)
 * v1-key-v2-mac                  "$2$" wrapper output under the same key spelled "$1$"
 *                                (what LockrAes256CbcSha256KeyWrapper::decrypt falls back to)
 * ctr                            LockrAes128CtrSha256KeyWrapper (key_len 16: lockr-php,
 *                                32: lockr-client)
 * raw-ctr                        LockrAes128CtrSha256RawKeyWrapper ("raw-aes-128-ctr-sha256")
 * v1-ctr-early                   the early "$1$" aes-128-ctr raw wrapper of lockr-php
 * v1-split-key                   the early "$1$" wrapper with key ‖ hmac_key (64 bytes) in the key string
 */

function opt(array $job, string $field, int $len): string
{
    return isset($job[$field]) ? base64_decode($job[$field], true) : random_bytes($len);
}

function cbc_sha512(string $prefix, string $plaintext, string $key, string $iv): array
{
    $key_data = hash('sha512', $key, true);
    $enc_key = substr($key_data, 0, 32);
    $hmac_key = substr($key_data, 32);
    $ciphertext = openssl_encrypt($plaintext, 'aes-256-cbc', $enc_key, OPENSSL_RAW_DATA, $iv);
    $hmac = hash_hmac('sha256', $prefix . 'aes-256-cbc' . $iv . $ciphertext, $hmac_key, true);
    return [$iv . $ciphertext . $hmac, $prefix . base64_encode($key)];
}

function wrap(array $job): array
{
    $plaintext = base64_decode($job['plaintext_b64'], true);
    switch ($job['wrapper']) {
        case 'v2':
            return cbc_sha512('$2$', $plaintext, opt($job, 'key_b64', 32), opt($job, 'iv_b64', 16));
        case 'v1':
            [$raw, $encoded] = cbc_sha512('$1$', $plaintext, opt($job, 'key_b64', 32), opt($job, 'iv_b64', 16));
            return [base64_encode($raw), $encoded];
        case 'v1-raw':
            return cbc_sha512('$1$', $plaintext, opt($job, 'key_b64', 32), opt($job, 'iv_b64', 16));
        case 'v1-key-v2-mac':
            [$raw, $encoded] = cbc_sha512('$2$', $plaintext, opt($job, 'key_b64', 32), opt($job, 'iv_b64', 16));
            return [$raw, '$1$' . substr($encoded, 3)];
        case 'ctr':
            $key = opt($job, 'key_b64', $job['key_len'] ?? 16);
            $iv = opt($job, 'iv_b64', openssl_cipher_iv_length('aes-128-ctr'));
            $hmac_key = opt($job, 'hmac_key_b64', 32);
            $ciphertext = openssl_encrypt($plaintext, 'aes-128-ctr', $key, OPENSSL_RAW_DATA, $iv);
            $hmac = hash_hmac('sha256', $ciphertext, $hmac_key, true);
            $encoded = implode('$', ['aes-128-ctr-sha256', base64_encode($key), base64_encode($iv), base64_encode($hmac_key)]);
            return [base64_encode($hmac) . base64_encode($ciphertext), $encoded];
        case 'raw-ctr':
        case 'v1-ctr-early':
            $key = opt($job, 'key_b64', 16);
            $iv = opt($job, 'iv_b64', 16);
            $hmac_key = opt($job, 'hmac_key_b64', 32);
            $cipherdata = $iv . openssl_encrypt($plaintext, 'aes-128-ctr', $key, OPENSSL_RAW_DATA, $iv);
            $hmac = hash_hmac('sha256', 'aes-128-ctr' . $cipherdata, $hmac_key, true);
            $prefix = $job['wrapper'] === 'raw-ctr' ? 'raw-aes-128-ctr-sha256' : '$1$';
            return [$cipherdata . $hmac, $prefix . base64_encode($key . $hmac_key)];
        case 'v1-split-key':
            $key = opt($job, 'key_b64', 32);
            $iv = opt($job, 'iv_b64', 16);
            $hmac_key = opt($job, 'hmac_key_b64', 32);
            $ciphertext = openssl_encrypt($plaintext, 'aes-256-cbc', $key, OPENSSL_RAW_DATA, $iv);
            $hmac = hash_hmac('sha256', '$1$aes-256-cbc' . $iv . $ciphertext, $hmac_key, true);
            return [$iv . $ciphertext . $hmac, '$1$' . base64_encode($key . $hmac_key)];
    }
    throw new InvalidArgumentException('unknown wrapper');
}

$jobs = json_decode(stream_get_contents(STDIN), true, 512, JSON_THROW_ON_ERROR);
$out = [];
foreach ($jobs as $job) {
    [$output, $encoded] = wrap($job);
    $out[] = [
        'wrapping_key' => $encoded,
        'output_b64' => base64_encode($output),
        'graphql_value' => base64_encode($output),
    ];
}
echo json_encode($out, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES), "\n";
