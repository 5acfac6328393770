<?php

namespace Drupal\keybridge;

use Drupal\Core\Entity\EntityTypeManagerInterface;
use Drupal\key\KeyInterface;
use Drupal\keybridge\Common\KeybridgeException;
use Drupal\keybridge\Plugin\KeyProvider\KeybridgeKeyProvider;

/**
 * Keys of this site as Key entities with the keybridge provider.
 *
 * A key's keybridge name is its Key entity id (a machine name), and its KEK is
 * in the entity's provider settings. The settings page and drush work through
 * this class, so what they do is what Key's own forms would do: a value set
 * here is read by key.repository, and the other way round.
 */
class KeybridgeKeys {

  /**
   * What Drupal allows as a Key entity id.
   */
  const ID_PATTERN = '/^[a-z0-9_]{1,32}$/';

  /**
   * Uses Key's entity storage and the vault.
   *
   * @param \Drupal\Core\Entity\EntityTypeManagerInterface $entityTypeManager
   *   The entity type manager.
   * @param \Drupal\keybridge\KeyVault $vault
   *   The vault.
   */
  public function __construct(
    protected EntityTypeManagerInterface $entityTypeManager,
    protected KeyVault $vault,
  ) {}

  /**
   * The value of a keybridge key.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type key-not-found, kek-mismatch or any agent problem type.
   */
  public function get(string $id): string {
    $provider = $this->provider($this->existing($id));
    if ($provider->wrappingKey() === '') {
      throw new KeybridgeException('key-not-found', 'The key ' . $id . ' has no value yet', 404, 'name');
    }
    return $this->vault->read($id, $provider->wrappingKey());
  }

  /**
   * Stores a value, creating the Key entity when there is none.
   *
   * @return array
   *   name and version (never the KEK).
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Types invalid-name, invalid-value or any agent problem type.
   */
  public function set(string $id, string $value, string $label = ''): array {
    $key = $this->loadOrCreate($id, $label);
    $provider = $this->provider($key);
    $written = $this->vault->store($id, $value, $label !== '' ? $label : (string) $key->label(), $provider->wrappingKey() === '' ? NULL : $provider->wrappingKey());
    $this->keep($key, $written, $provider->wrappingKey() === '');
    return ['name' => $id, 'version' => $written['version'] ?? NULL];
  }

  /**
   * Stores random bytes the agent makes, creating the Key entity when needed.
   *
   * @return array
   *   name and version (never the KEK).
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Types invalid-name or any agent problem type.
   */
  public function generate(string $id, int $bits, string $label = ''): array {
    $key = $this->loadOrCreate($id, $label);
    $provider = $this->provider($key);
    $written = $this->vault->generate($id, $bits, $label !== '' ? $label : (string) $key->label(), $provider->wrappingKey() === '' ? NULL : $provider->wrappingKey());
    $this->keep($key, $written, $provider->wrappingKey() === '');
    return ['name' => $id, 'version' => $written['version'] ?? NULL];
  }

  /**
   * Wraps a key's value under a new KEK and keeps the new KEK in its entity.
   *
   * @return array
   *   name and version (never the KEK).
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Any agent problem type; storage-failure when the entity cannot be saved
   *   (the value is then wrapped under the old KEK again).
   */
  public function rotate(string $id): array {
    $key = $this->existing($id);
    $old = $this->provider($key)->wrappingKey();
    $written = $this->vault->rotate($id, $old);
    try {
      $this->keep($key, $written, FALSE);
    }
    catch (KeybridgeException $e) {
      // The entity still holds the old KEK: wrap the value under it again.
      $value = $this->vault->read($id, (string) $written['wrapping_key']);
      $this->vault->store($id, $value, (string) $key->label(), $old);
      throw $e;
    }
    return ['name' => $id, 'version' => $written['version'] ?? NULL];
  }

  /**
   * Deletes the value from the vault, then the Key entity.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Any agent problem type but key-not-found (then nothing is deleted).
   */
  public function delete(string $id): void {
    $key = $this->existing($id);
    try {
      $this->vault->delete($id);
    }
    catch (KeybridgeException $e) {
      if ($e->problem_type() !== 'key-not-found') {
        throw $e;
      }
    }
    // The provider keeps the value by default: it is gone already.
    $key->delete();
  }

  /**
   * The Key entities that use the keybridge provider, by id.
   *
   * @return \Drupal\key\KeyInterface[]
   *   The keys.
   */
  public function keybridgeKeys(): array {
    $keys = $this->entityTypeManager->getStorage('key')->loadByProperties(['key_provider' => 'keybridge']);
    ksort($keys);
    return $keys;
  }

  /**
   * A Key entity with the keybridge provider.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type key-not-found.
   */
  public function existing(string $id): KeyInterface {
    $key = $this->entityTypeManager->getStorage('key')->load($id);
    if (!$key instanceof KeyInterface) {
      throw new KeybridgeException('key-not-found', 'No key ' . $id . ' on this site', 404, 'name');
    }
    return $key;
  }

  /**
   * The entity's keybridge provider.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type invalid-name when the key uses another provider (nothing changes).
   */
  protected function provider(KeyInterface $key): KeybridgeKeyProvider {
    $provider = $key->getKeyProvider();
    if (!$provider instanceof KeybridgeKeyProvider) {
      throw new KeybridgeException('invalid-name', 'The key ' . $key->id() . ' uses the ' . $provider->getPluginId() . ' provider, not keybridge: change it on its Key page first', 409, 'name');
    }
    return $provider;
  }

  /**
   * The Key entity of an id, or a new unsaved one with the keybridge provider.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type invalid-name for an id Drupal cannot use.
   */
  protected function loadOrCreate(string $id, string $label): KeyInterface {
    if (preg_match(self::ID_PATTERN, $id) !== 1) {
      throw new KeybridgeException('invalid-name', 'A Drupal key name is a Key machine name: 1 to 32 lower-case letters, digits and underscores', 422, 'name');
    }
    $storage = $this->entityTypeManager->getStorage('key');
    $key = $storage->load($id);
    if ($key instanceof KeyInterface) {
      return $key;
    }
    /** @var \Drupal\key\KeyInterface $key */
    $key = $storage->create([
      'id' => $id,
      'label' => $label !== '' ? $label : $id,
      'key_type' => 'authentication',
      'key_provider' => 'keybridge',
      'key_input' => 'text_field',
    ]);
    return $key;
  }

  /**
   * Saves the KEK the agent returned in the Key entity.
   *
   * @param \Drupal\key\KeyInterface $key
   *   The Key entity.
   * @param array $written
   *   The agent's answer (name, wrapping_key, version).
   * @param bool $new_name
   *   Whether the vault had no value under this KEK before: then a failed save
   *   removes the value again, since nothing could ever open it.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type storage-failure when the entity cannot be saved.
   */
  protected function keep(KeyInterface $key, array $written, bool $new_name): void {
    $this->provider($key)->setWrappingKey((string) $written['wrapping_key']);
    try {
      $key->save();
    }
    catch (\Exception $e) {
      if ($new_name) {
        $this->vault->delete((string) $key->id());
      }
      throw new KeybridgeException('storage-failure', 'The key ' . $key->id() . ' could not be saved: ' . $e->getMessage(), 500, '', $e);
    }
  }

}
