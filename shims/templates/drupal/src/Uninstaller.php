<?php

namespace Drupal\keybridge;

use Drupal\Core\Entity\EntityTypeManagerInterface;
use Drupal\Core\Extension\ModuleUninstallValidatorInterface;
use Drupal\Core\Site\Settings;
use Drupal\Core\StringTranslation\StringTranslationTrait;
use Drupal\Core\StringTranslation\TranslationInterface;
use Drupal\key\KeyInterface;
use Drupal\keybridge\Common\KeybridgeException;
use Drupal\keybridge\Plugin\KeyProvider\KeybridgeKeyProvider;
use Psr\Log\LoggerInterface;

/**
 * Uninstalling keybridge never loses a secret.
 *
 * Drupal deletes the Key entities that use a module's plugin when the module
 * goes, and with them their KEKs: without a KEK a value in the vault can never
 * be opened again. So:
 * 1. the uninstall is refused (validate()) while any such key's value cannot
 *    be read, saying which and why (usually: the agent is down);
 * 2. each such key gets its value back in Key's configuration provider, as it
 *    would be without keybridge (restoreKeys(), from hook_uninstall());
 * 3. the values stay in the vault unless settings.php says
 *    $settings['keybridge']['uninstall_delete_keys'] = TRUE.
 */
class Uninstaller implements ModuleUninstallValidatorInterface {

  use StringTranslationTrait;

  /**
   * Sets up the uninstaller.
   *
   * @param \Drupal\Core\Entity\EntityTypeManagerInterface $entityTypeManager
   *   The entity type manager.
   * @param \Drupal\keybridge\KeyVault $vault
   *   The vault.
   * @param \Drupal\Core\Site\Settings $settings
   *   The site's settings.
   * @param \Psr\Log\LoggerInterface $logger
   *   The keybridge log channel.
   * @param \Drupal\Core\StringTranslation\TranslationInterface $string_translation
   *   The translation service.
   */
  public function __construct(
    protected EntityTypeManagerInterface $entityTypeManager,
    protected KeyVault $vault,
    protected Settings $settings,
    protected LoggerInterface $logger,
    TranslationInterface $string_translation,
  ) {
    $this->stringTranslation = $string_translation;
  }

  /**
   * {@inheritdoc}
   */
  public function validate($module) {
    if ($module !== 'keybridge') {
      return [];
    }
    $reasons = [];
    foreach ($this->keys() as $id => $key) {
      try {
        $this->value($key);
      }
      catch (KeybridgeException $e) {
        $reasons[] = $this->t('The value of the key %key cannot be read (@type: @message), so it could not be given back to Key before uninstalling. Start the agent or fix the key, then try again.', [
          '%key' => $id,
          '@type' => $e->problem_type(),
          '@message' => $e->getMessage(),
        ]);
      }
    }
    return $reasons;
  }

  /**
   * Gives every keybridge key its value back in Key's configuration provider.
   *
   * @param bool $is_syncing
   *   TRUE during a configuration import, which brings its own Key entities:
   *   then nothing is changed here.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   When a value cannot be read after all: this stops the uninstall before
   *   Drupal deletes anything, and the module stays installed.
   */
  public function restoreKeys(bool $is_syncing): void {
    if ($is_syncing) {
      return;
    }
    $delete = !empty($this->settings->get('keybridge', [])['uninstall_delete_keys']);
    foreach ($this->keys() as $id => $key) {
      $value = $this->value($key);
      $key->setPlugin('key_provider', 'config');
      // Configuration is YAML text: bytes that are not UTF-8 are kept base64.
      $key->getKeyProvider()->setConfiguration(['base64_encoded' => !mb_check_encoding($value, 'UTF-8')]);
      $key->setKeyValue($value);
      $key->save();
      $this->logger->notice('Uninstall: the key @key is back in the configuration provider.', ['@key' => $id]);
      if ($delete) {
        try {
          $this->vault->delete($id);
        }
        catch (KeybridgeException $e) {
          $this->logger->warning('Uninstall: the value of @key stays in the vault: @type', [
            '@key' => $id,
            '@type' => $e->problem_type(),
          ]);
        }
      }
    }
  }

  /**
   * The Key entities that use the keybridge provider, by id.
   *
   * @return \Drupal\key\KeyInterface[]
   *   The keys.
   */
  protected function keys(): array {
    return $this->entityTypeManager->getStorage('key')->loadByProperties(['key_provider' => 'keybridge']);
  }

  /**
   * A key's value, or the reason it cannot be read.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Any problem type.
   */
  protected function value(KeyInterface $key): string {
    $provider = $key->getKeyProvider();
    $kek = $provider instanceof KeybridgeKeyProvider ? $provider->wrappingKey() : '';
    if ($kek === '') {
      // A key saved without a value: there is nothing to give back.
      return '';
    }
    return $this->vault->read((string) $key->id(), $kek);
  }

}
