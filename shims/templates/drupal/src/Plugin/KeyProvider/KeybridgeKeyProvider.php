<?php

namespace Drupal\keybridge\Plugin\KeyProvider;

use Drupal\Core\Form\FormStateInterface;
use Drupal\Core\StringTranslation\TranslatableMarkup;
use Drupal\key\Attribute\KeyProvider;
use Drupal\key\Exception\KeyValueNotSetException;
use Drupal\key\KeyInterface;
use Drupal\key\Plugin\KeyPluginDeleteFormInterface;
use Drupal\key\Plugin\KeyPluginFormInterface;
use Drupal\key\Plugin\KeyProviderBase;
use Drupal\key\Plugin\KeyProviderSettableValueInterface;
use Drupal\keybridge\Common\KeybridgeException;
use Drupal\keybridge\KeyVault;
use Drupal\keybridge\StatusTable;
use Psr\Log\LoggerInterface;
use Symfony\Component\DependencyInjection\ContainerInterface;

/**
 * Keeps a key's value in the keybridge vault of this environment.
 *
 * The key's wrapping key (KEK) is the only setting: it lives in the Key
 * entity's provider settings, so it travels with configuration sync while each
 * environment keeps its own value. The value is wrapped on this host before it
 * leaves, and read back through the ciphertext cache with the KEK in hand.
 *
 * Discovered both ways: Key 1.x up to 1.22 reads the annotation, later
 * releases the attribute.
 *
 * @KeyProvider(
 *   id = "keybridge",
 *   label = @Translation("Keybridge"),
 *   description = @Translation("Stores the value in the keybridge key service, wrapped on this host; this environment has its own vault."),
 *   tags = {
 *     "remote",
 *   },
 *   key_value = {
 *     "accepted" = TRUE,
 *     "required" = FALSE
 *   }
 * )
 */
#[KeyProvider(
  id: 'keybridge',
  label: new TranslatableMarkup('Keybridge'),
  description: new TranslatableMarkup('Stores the value in the keybridge key service, wrapped on this host; this environment has its own vault.'),
  tags: ['remote'],
  key_value: ['accepted' => TRUE, 'required' => FALSE],
)]
class KeybridgeKeyProvider extends KeyProviderBase implements KeyPluginFormInterface, KeyProviderSettableValueInterface, KeyPluginDeleteFormInterface {

  /**
   * Whether the admin asked, on Key's delete form, to delete the value too.
   *
   * @var bool
   */
  protected bool $deleteConfirmed = FALSE;

  /**
   * The vault.
   *
   * @var \Drupal\keybridge\KeyVault
   */
  protected KeyVault $vault;

  /**
   * Where failures are logged (never with a value or a KEK).
   *
   * @var \Psr\Log\LoggerInterface
   */
  protected LoggerInterface $logger;

  /**
   * The status table (is the site registered, does the agent answer).
   *
   * @var \Drupal\keybridge\StatusTable
   */
  protected StatusTable $status;

  /**
   * {@inheritdoc}
   */
  public static function create(ContainerInterface $container, array $configuration, $plugin_id, $plugin_definition) {
    $provider = new static($configuration, $plugin_id, $plugin_definition);
    $provider->vault = $container->get('keybridge.vault');
    $provider->logger = $container->get('logger.channel.keybridge');
    $provider->status = $container->get('keybridge.status');
    return $provider;
  }

  /**
   * {@inheritdoc}
   */
  public function defaultConfiguration() {
    return ['wrapping_key' => ''];
  }

  /**
   * {@inheritdoc}
   */
  public function buildConfigurationForm(array $form, FormStateInterface $form_state) {
    // The KEK is never put in a form: the browser has no use for it.
    $has_kek = ($this->configuration['wrapping_key'] ?? '') !== '';
    $form['keybridge_state'] = [
      '#type' => 'item',
      '#title' => $this->t('Keybridge'),
      '#markup' => $has_kek
        ? $this->t('This key has a wrapping key; its value is in the keybridge vault of each environment where it was set.')
        : $this->t('The value is wrapped on this host and stored in the keybridge vault of this environment when you save.'),
    ];
    return $form;
  }

  /**
   * {@inheritdoc}
   */
  public function validateConfigurationForm(array &$form, FormStateInterface $form_state) {
    // A value can only be stored by a registered site whose agent answers: say
    // so on the form, rather than failing when Key saves the entity.
    $status = $this->status->fetch();
    if (empty($status['registered'])) {
      $agent = $status['rows'][0] ?? [];
      $reason = ($agent['severity'] ?? '') === 'error'
        ? $this->t('@value. @help', ['@value' => $agent['value'] ?? '', '@help' => $agent['help'] ?? ''])
        : $this->t('This site is not registered yet: register it on the Keybridge page (Configuration → System → Keybridge) or with drush keybridge:register.');
      $form_state->setErrorByName('keybridge_state', $this->t('Keybridge cannot store values now. @reason', ['@reason' => $reason]));
    }
  }

  /**
   * {@inheritdoc}
   */
  public function submitConfigurationForm(array &$form, FormStateInterface $form_state) {
    // Key copies these values into the entity: keep the KEK, which the form
    // does not carry, or the next save would wrap the value under a new one.
    $form_state->setValues(['wrapping_key' => (string) ($this->configuration['wrapping_key'] ?? '')]);
  }

  /**
   * {@inheritdoc}
   */
  public function getKeyValue(KeyInterface $key) {
    $kek = (string) ($this->configuration['wrapping_key'] ?? '');
    if ($kek === '') {
      return NULL;
    }
    try {
      return $this->vault->read((string) $key->id(), $kek);
    }
    catch (KeybridgeException $e) {
      // NULL, not an exception: Key's config overrides call this on every page
      // that reads the overridden configuration, agent down or not.
      $this->logger->warning('Reading key @key failed: @type: @message', [
        '@key' => $key->id(),
        '@type' => $e->problem_type(),
        '@message' => $e->getMessage(),
      ]);
      return NULL;
    }
  }

  /**
   * {@inheritdoc}
   */
  public function setKeyValue(KeyInterface $key, $key_value) {
    $kek = (string) ($this->configuration['wrapping_key'] ?? '');
    try {
      $written = $this->vault->store((string) $key->id(), (string) $key_value, (string) $key->label(), $kek === '' ? NULL : $kek);
    }
    catch (KeybridgeException $e) {
      throw new KeyValueNotSetException(sprintf('keybridge did not store the value of %s: %s: %s', $key->id(), $e->problem_type(), $e->getMessage()), 0, $e);
    }
    $this->configuration['wrapping_key'] = (string) $written['wrapping_key'];
    return TRUE;
  }

  /**
   * Deletes the value only when the admin confirmed it on Key's delete form.
   *
   * Key calls this whenever a Key entity goes away or leaves this provider,
   * including configuration imports and scripts. The value stays in the vault
   * then: deleting it cannot be undone.
   *
   * {@inheritdoc}
   */
  public function deleteKeyValue(KeyInterface $key) {
    if (!$this->deleteConfirmed) {
      $this->logger->notice('Key @key no longer uses keybridge; its value stays in the vault (delete it with drush keybridge:delete or from the Keybridge page).', ['@key' => $key->id()]);
      return FALSE;
    }
    try {
      $this->vault->delete((string) $key->id());
    }
    catch (KeybridgeException $e) {
      if ($e->problem_type() !== 'key-not-found') {
        $this->logger->error('Deleting the value of key @key failed: @type: @message', [
          '@key' => $key->id(),
          '@type' => $e->problem_type(),
          '@message' => $e->getMessage(),
        ]);
        return FALSE;
      }
    }
    return TRUE;
  }

  /**
   * {@inheritdoc}
   */
  public static function obscureKeyValue($key_value, array $options = []) {
    // Shows that a value exists, never a character of it nor its length.
    return is_string($key_value) && $key_value !== '' ? str_repeat('*', 16) : '';
  }

  /**
   * {@inheritdoc}
   */
  public function buildDeleteForm(array &$form, FormStateInterface $form_state) {
    $form['keybridge_delete_value'] = [
      '#type' => 'checkbox',
      '#title' => $this->t('Also delete the value from the keybridge vault of this environment'),
      '#description' => $this->t('It cannot be recovered. Left unchecked, the value stays in the vault, but without this key its wrapping key is gone too.'),
      '#default_value' => FALSE,
    ];
    return $form;
  }

  /**
   * {@inheritdoc}
   */
  public function validateDeleteForm(array &$form, FormStateInterface $form_state) {
    // Recorded before Key deletes the entity and calls deleteKeyValue().
    $this->deleteConfirmed = (bool) $form_state->getValue('keybridge_delete_value');
  }

  /**
   * {@inheritdoc}
   */
  public function submitDeleteForm(array &$form, FormStateInterface $form_state) {
  }

  /**
   * The KEK this key's value is wrapped under, '' before its first save.
   */
  public function wrappingKey(): string {
    return (string) ($this->configuration['wrapping_key'] ?? '');
  }

  /**
   * Keeps a KEK the agent returned (after a generate, rotate or import).
   */
  public function setWrappingKey(string $kek): void {
    $this->configuration['wrapping_key'] = $kek;
  }

}
