<?php

namespace Drupal\keybridge;

use Drupal\keybridge\Common\CiphertextCache;
use Drupal\keybridge\Common\Kb1;
use Drupal\keybridge\Common\KeybridgeException;
use Drupal\keybridge\Common\Spec;

/**
 * This environment's vault, with KEKs the caller holds (in Key entities).
 *
 * Reads go through the ciphertext cache exactly as in WordPress: keys.fetch
 * returns ciphertexts (kept in APCu for the agent's TTL, never a value) and PHP
 * opens them with the KEK, so on reads the KEK never leaves PHP. Writes send
 * the KEK the site already holds, so a name keeps its KEK across environments
 * (DESIGN.md, "Environments").
 */
class KeyVault {

  /**
   * The ciphertext cache, made on first use.
   *
   * @var \Drupal\keybridge\Common\CiphertextCache|null
   */
  protected ?CiphertextCache $cache = NULL;

  /**
   * Uses the agent configured in settings.php.
   *
   * @param \Drupal\keybridge\AgentSettings $agent
   *   The agent settings.
   */
  public function __construct(protected AgentSettings $agent) {}

  /**
   * The value of a key.
   *
   * @param string $name
   *   The key name.
   * @param string $kek
   *   The kb1$ wrapping key this site holds for it.
   *
   * @return string
   *   The value's bytes.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type key-not-found, kek-mismatch or any agent problem type.
   */
  public function read(string $name, string $kek): string {
    $entry = $this->cache()->get($name);
    if ($entry !== NULL) {
      try {
        return Kb1::open($entry['ciphertext'], $kek, $entry['site_id'], $entry['environment'], $entry['key_id'], $entry['kek_id']);
      }
      catch (KeybridgeException $e) {
        // The cached ciphertext may predate a rotation or a re-set elsewhere.
        $this->cache()->delete($name);
      }
    }
    $fetched = $this->cache()->store_fetched($this->agent->client()->keys_fetch(['names' => [$name]]), [$name]);
    if (!isset($fetched[$name])) {
      throw new KeybridgeException('key-not-found', 'No such key in this environment (' . self::describe($name) . ')', 404, 'name');
    }
    return Kb1::open_entry($fetched[$name], $kek);
  }

  /**
   * Stores a value (any bytes) under a name.
   *
   * @param string $name
   *   The key name.
   * @param string $value
   *   The value, at most 65536 bytes.
   * @param string $label
   *   A label for listings ('' for none).
   * @param string|null $kek
   *   The KEK this site holds for the name, NULL for a new name.
   *
   * @return array
   *   The agent's answer: name, wrapping_key, version.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type invalid-value for a too long value; any agent problem type.
   */
  public function store(string $name, string $value, string $label = '', ?string $kek = NULL): array {
    // The spec's limit, read here rather than in a class constant: PHP
    // resolves a class's constants with its first object, and a read has no
    // use for the spec.
    if (strlen($value) > Spec::LIMITS['value_bytes']) {
      throw new KeybridgeException('invalid-value', 'A key value may be at most ' . Spec::LIMITS['value_bytes'] . ' bytes', 422, 'value');
    }
    // value_base64 carries any bytes; the value field would have to be UTF-8.
    return $this->write('keys_set', $name, ['value_base64' => base64_encode($value)], $label, $kek);
  }

  /**
   * Stores random bytes the agent makes.
   *
   * @param string $name
   *   The key name.
   * @param int $bits
   *   The size: 64 to 4096, a multiple of 8.
   * @param string $label
   *   A label for listings ('' for none).
   * @param string|null $kek
   *   The KEK this site holds for the name, NULL for a new name.
   *
   * @return array
   *   The agent's answer: name, wrapping_key, version.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Any agent problem type.
   */
  public function generate(string $name, int $bits, string $label = '', ?string $kek = NULL): array {
    return $this->write('keys_generate', $name, ['bits' => $bits], $label, $kek);
  }

  /**
   * Wraps a key's value under a new KEK.
   *
   * @param string $name
   *   The key name.
   * @param string $kek
   *   The KEK this site holds for it.
   *
   * @return array
   *   The agent's answer: name, wrapping_key (the new KEK), version.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Any agent problem type.
   */
  public function rotate(string $name, string $kek): array {
    $this->cache()->delete($name);
    return $this->agent->client()->keys_rotate(['name' => $name, 'wrapping_key' => $kek]);
  }

  /**
   * Deletes a key from this environment's vault.
   *
   * @param string $name
   *   The key name.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type key-not-found when the vault has no such key; any other problem.
   */
  public function delete(string $name): void {
    $this->cache()->delete($name);
    $this->agent->client()->keys_delete(['name' => $name]);
  }

  /**
   * Calls keys.set or keys.generate with the KEK the site holds.
   */
  protected function write(string $method, string $name, array $body, string $label, ?string $kek): array {
    $body['name'] = $name;
    if ($label !== '') {
      $body['label'] = $label;
    }
    if ($kek !== NULL && $kek !== '') {
      $body['wrapping_key'] = $kek;
    }
    $this->cache()->delete($name);
    return $this->agent->client()->$method($body);
  }

  /**
   * The ciphertext cache of this site and agent.
   */
  protected function cache(): CiphertextCache {
    if ($this->cache === NULL) {
      $this->cache = new CiphertextCache($this->agent->cacheScope());
    }
    return $this->cache;
  }

  /**
   * A name for messages: short plain names as they are, others as a hash.
   */
  public static function describe(string $name): string {
    if (strlen($name) <= 64 && preg_match('/^[A-Za-z0-9._:\/-]+$/', $name) === 1) {
      return $name;
    }
    return 'sha256:' . substr(hash('sha256', $name), 0, 16);
  }

}
