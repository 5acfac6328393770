<?php

namespace Drupal\keybridge;

use Drupal\Core\Config\ConfigFactoryInterface;
use Drupal\Core\Entity\EntityTypeManagerInterface;
use Drupal\key\KeyInterface;
use Drupal\keybridge\Common\KeybridgeException;
use Drupal\keybridge\Plugin\KeyProvider\KeybridgeKeyProvider;

/**
 * Moves a site's Lockr secrets into keybridge.
 *
 * The ciphertexts come as Lockr's API returned them (a JSON file the site owner
 * exported); the wrapping keys are where Lockr's Drupal module kept them: a
 * lockr_secret config entity's info.wrapping_key, else the Key entity's Lockr
 * provider setting `encoded`. The agent unwraps every item before it stores any
 * (import.lockr), then each Key entity is switched to the keybridge provider
 * with the new KEK and its value is read back through Key to prove it.
 *
 * The switch edits the Key's configuration directly rather than saving the
 * entity: saving would ask Lockr's provider (if its module is still there) to
 * delete its copy, and the Lockr copy should stay until the owner removes it.
 */
class LockrMigration {

  /**
   * Items per import.lockr call (the spec's maxItems).
   */
  const BATCH = 500;

  /**
   * Sets up the migration.
   *
   * @param \Drupal\Core\Config\ConfigFactoryInterface $configFactory
   *   The config factory.
   * @param \Drupal\Core\Entity\EntityTypeManagerInterface $entityTypeManager
   *   The entity type manager.
   * @param \Drupal\keybridge\AgentSettings $agent
   *   The agent settings.
   * @param \Drupal\keybridge\KeybridgeKeys $keys
   *   The keybridge keys.
   */
  public function __construct(
    protected ConfigFactoryInterface $configFactory,
    protected EntityTypeManagerInterface $entityTypeManager,
    protected AgentSettings $agent,
    protected KeybridgeKeys $keys,
  ) {}

  /**
   * Reads an export of Lockr ciphertexts.
   *
   * @param string $json
   *   A JSON list of {name, ciphertext} (encoded optional: else found here).
   *
   * @return array[]
   *   The items, each with name and ciphertext (and encoded when given).
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type invalid-field naming the first bad item.
   */
  public static function parse(string $json): array {
    $items = json_decode($json, TRUE);
    if (!is_array($items) || !array_is_list($items) || $items === []) {
      throw new KeybridgeException('invalid-field', 'The Lockr export must be a JSON list of {"name", "ciphertext"} objects', 400, 'items');
    }
    foreach ($items as $index => $item) {
      if (!is_array($item) || !is_string($item['name'] ?? NULL) || !is_string($item['ciphertext'] ?? NULL) || (isset($item['encoded']) && !is_string($item['encoded']))) {
        throw new KeybridgeException('invalid-field', sprintf('Item %d of the Lockr export needs a name and a ciphertext (strings)', $index), 400, 'items');
      }
    }
    return $items;
  }

  /**
   * Imports the items and switches their keys to keybridge.
   *
   * @param array[] $items
   *   From parse().
   * @param callable $progress
   *   Called as $progress($done, $total, $name, $message) after each key.
   *
   * @return array[]
   *   One row per item: name, key (the Key entity id), version, read_back
   *   ('ok' or why not).
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type invalid-field when an item has no wrapping key on this site (nothing
   *   is imported then), or any agent problem type (the agent stores none of a
   *   batch it cannot unwrap whole).
   */
  public function import(array $items, callable $progress): array {
    $batch = [];
    foreach ($items as $item) {
      $name = $item['name'];
      $encoded = $item['encoded'] ?? $this->wrappingKey($name);
      if ($encoded === NULL) {
        throw new KeybridgeException('invalid-field', sprintf('No Lockr wrapping key for %s on this site (neither lockr.lockr_secret.%s nor a Key with the Lockr provider): nothing was imported', $name, $name), 400, 'items');
      }
      if (preg_match(KeybridgeKeys::ID_PATTERN, $this->keyId($name)) !== 1) {
        throw new KeybridgeException('invalid-name', sprintf('%s cannot be a Key machine name: nothing was imported', $name), 422, 'name');
      }
      $batch[] = ['name' => $this->keyId($name), 'ciphertext' => $item['ciphertext'], 'encoded' => $encoded];
    }
    $rows = [];
    $done = 0;
    foreach (array_chunk($batch, self::BATCH) as $chunk) {
      $answer = $this->agent->client()->import_lockr(['items' => $chunk]);
      foreach ($answer['keys'] ?? [] as $written) {
        $id = (string) $written['name'];
        $this->switchToKeybridge($id, (string) $written['wrapping_key']);
        $read_back = $this->readBack($id);
        $rows[] = ['name' => $id, 'key' => $id, 'version' => $written['version'] ?? NULL, 'read_back' => $read_back];
        $progress(++$done, count($batch), $id, $read_back);
      }
    }
    return $rows;
  }

  /**
   * The Key entity id a Lockr secret name belongs to.
   */
  protected function keyId(string $name): string {
    $secret = $this->configFactory->get('lockr.lockr_secret.' . $name);
    $key_id = $secret->isNew() ? '' : (string) $secret->get('key_id');
    return $key_id !== '' ? $key_id : $name;
  }

  /**
   * Where Lockr's module kept a secret's wrapping key, NULL when nowhere.
   */
  protected function wrappingKey(string $name): ?string {
    $secret = $this->configFactory->get('lockr.lockr_secret.' . $name);
    $encoded = $secret->isNew() ? '' : (string) $secret->get('info.wrapping_key');
    if ($encoded !== '') {
      return $encoded;
    }
    $key = $this->configFactory->get('key.key.' . $this->keyId($name));
    $encoded = (string) ($key->get('key_provider_settings.encoded') ?? '');
    return $key->get('key_provider') === 'lockr' && $encoded !== '' ? $encoded : NULL;
  }

  /**
   * Points a Key entity at keybridge with its KEK (creating it if needed).
   */
  protected function switchToKeybridge(string $id, string $kek): void {
    $storage = $this->entityTypeManager->getStorage('key');
    $config = $this->configFactory->getEditable('key.key.' . $id);
    if ($config->isNew()) {
      $key = $storage->create([
        'id' => $id,
        'label' => $id,
        'key_type' => 'authentication',
        'key_provider' => 'keybridge',
        'key_provider_settings' => ['wrapping_key' => $kek],
        'key_input' => 'text_field',
      ]);
      $key->save();
      return;
    }
    $config->set('key_provider', 'keybridge')->set('key_provider_settings', ['wrapping_key' => $kek]);
    $config->save();
    $storage->resetCache([$id]);
    // The dependencies now name keybridge instead of Lockr's module.
    $key = $storage->load($id);
    $config->set('dependencies', $key->calculateDependencies()->getDependencies())->save();
    $storage->resetCache([$id]);
  }

  /**
   * Reads a migrated value back through Key: 'ok', or why not.
   */
  protected function readBack(string $id): string {
    $key = $this->entityTypeManager->getStorage('key')->load($id);
    $provider = $key instanceof KeyInterface ? $key->getKeyProvider() : NULL;
    if (!$provider instanceof KeybridgeKeyProvider) {
      return 'the key does not use keybridge';
    }
    try {
      $this->keys->get($id);
      return 'ok';
    }
    catch (KeybridgeException $e) {
      return $e->problem_type() . ': ' . $e->getMessage();
    }
  }

}
