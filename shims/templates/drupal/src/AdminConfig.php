<?php

namespace Drupal\keybridge;

use Drupal\Core\Access\CsrfRequestHeaderAccessCheck;
use Drupal\Core\Access\CsrfTokenGenerator;
use Drupal\Core\StringTranslation\StringTranslationTrait;
use Drupal\Core\StringTranslation\TranslationInterface;
use Drupal\Core\Url;
use Drupal\keybridge\Common\Spec;

/**
 * What the admin-ui bundle reads (drupalSettings.keybridgeAdmin).
 *
 * Where the operation route is, the CSRF token it checks, the status rows and
 * forms of spec.yaml translated, Claro's classes and the bundle's own strings.
 * It holds no value, KEK or agent token.
 */
class AdminConfig {

  use StringTranslationTrait;

  /**
   * Sets up the builder.
   *
   * @param \Drupal\Core\Access\CsrfTokenGenerator $csrfToken
   *   Drupal's CSRF token generator.
   * @param \Drupal\Core\StringTranslation\TranslationInterface $string_translation
   *   The translation service.
   */
  public function __construct(
    protected CsrfTokenGenerator $csrfToken,
    TranslationInterface $string_translation,
  ) {
    $this->stringTranslation = $string_translation;
  }

  /**
   * The whole configuration.
   */
  public function build(): array {
    return [
      // The bundle appends an operation id: …/keybridge/op/keys.set.
      'endpoint' => Url::fromRoute('keybridge.settings')->toString() . '/op/',
      // The token core's X-CSRF-Token check (and /session/token) uses.
      'headers' => ['X-CSRF-Token' => $this->csrfToken->get(CsrfRequestHeaderAccessCheck::TOKEN_KEY)],
      'sections' => $this->sections(),
      'statusRows' => $this->statusRows(),
      'statusActions' => $this->statusActions(),
      'forms' => $this->forms(),
      'classes' => [
        'table' => 'keybridge-table',
        'button' => 'button button--small',
        'primary' => 'button button--primary',
        'notice' => 'messages',
        'error' => 'messages--error',
        'success' => 'messages--status',
        'icon_ok' => '',
        'icon_warning' => '',
        'icon_error' => '',
        'tabs' => 'tabs keybridge-tabs',
        'tab' => 'tabs__link',
        'tab_active' => 'is-active',
      ],
      'strings' => $this->strings(),
    ];
  }

  /**
   * Status row id => translated title.
   */
  public function statusTitles(): array {
    return array_column($this->statusRows(), 'title', 'id');
  }

  /**
   * The status rows of spec.yaml, titles translated, in the spec's order.
   */
  protected function statusRows(): array {
    $rows = [];
    foreach (Spec::STATUS_ROWS as $id => $title) {
      $rows[] = ['id' => $id, 'title' => $this->spec($title)];
    }
    return $rows;
  }

  /**
   * The page's tabs: the spec's form sections this module has.
   *
   * WordPress adds a tab for its protected options and constants; Drupal keeps
   * its secrets in Key entities, whose own pages list them.
   */
  protected function sections(): array {
    return [
      ['id' => 'status', 'title' => (string) $this->t('Status')],
      ['id' => 'keys', 'title' => (string) $this->t('Keys')],
      ['id' => 'certificate', 'title' => (string) $this->t('Certificate')],
      ['id' => 'advanced', 'title' => (string) $this->t('Advanced')],
    ];
  }

  /**
   * What each status action asks, as this page says it: a sentence and a form.
   */
  protected function statusActions(): array {
    $actions = [];
    foreach (Spec::STATUS_ACTIONS as $id => $wording) {
      $actions[$id] = ['text' => $this->spec($wording['page']), 'form' => $wording['form']];
    }
    return $actions;
  }

  /**
   * The forms of spec.yaml with every text a person reads translated.
   */
  protected function forms(): array {
    $forms = [];
    foreach (Spec::FORMS as $form) {
      foreach (['title', 'submit', 'help', 'confirm'] as $text) {
        if (isset($form[$text])) {
          $form[$text] = $this->spec($form[$text]);
        }
      }
      foreach ($form['fields'] as $index => $field) {
        foreach (['label', 'help'] as $text) {
          if (isset($field[$text])) {
            $form['fields'][$index][$text] = $this->spec($field[$text]);
          }
        }
      }
      if ($form['id'] === 'key' || $form['id'] === 'generate') {
        // In Drupal a key name is its Key entity's machine name.
        $form['fields'][0]['help'] = (string) $this->t('A Key machine name: lower-case letters, digits and underscores. The key appears under Configuration → System → Keys.');
      }
      $forms[] = $form;
    }
    return $forms;
  }

  /**
   * Translates a text that comes from spec.yaml.
   */
  protected function spec(string $text): string {
    // phpcs:ignore Drupal.Semantics.FunctionT.NotLiteralString -- the texts are spec.yaml's.
    return (string) $this->t($text);
  }

  /**
   * The bundle's own texts (its English defaults, translated).
   */
  protected function strings(): array {
    $strings = [
      'statusHeading' => $this->t('Status'),
      'keysHeading' => $this->t('Keys'),
      'check' => $this->t('Check'),
      'state' => $this->t('State'),
      'value' => $this->t('Value'),
      'help' => $this->t('What to do'),
      'ok' => $this->t('OK'),
      'warning' => $this->t('Warning'),
      'error' => $this->t('Error'),
      'loading' => $this->t('Loading…'),
      'agentDown' => $this->t('The keybridge agent cannot be reached, so keys cannot be read or changed. Start the agent, then reload this page.'),
      'keysUnavailable' => $this->t('The keys cannot be listed: %s'),
      'noKeys' => $this->t('No keys are stored in this environment yet.'),
      'moreKeys' => $this->t('Show more keys'),
      'name' => $this->t('Name'),
      'label' => $this->t('Label'),
      'version' => $this->t('Version'),
      'updated' => $this->t('Updated'),
      'reads' => $this->t('Reads'),
      'actions' => $this->t('Actions'),
      'rotate' => $this->t('Rotate'),
      'delete' => $this->t('Delete'),
      'cancel' => $this->t('Cancel'),
      'confirmDelete' => $this->t('Delete the key “%s” from this environment? Its value cannot be recovered.'),
      'keySaved' => $this->t('Key “%s” saved.'),
      'keyGenerated' => $this->t('Key “%s” generated.'),
      'keyRotated' => $this->t('Key “%s” rotated.'),
      'keyDeleted' => $this->t('Key “%s” deleted.'),
      'registered' => $this->t('This site is registered.'),
      'certificateCreated' => $this->t('The new certificate is installed.'),
      'productionIssued' => $this->t('This site is now in production.'),
      'productionPending' => $this->t('The move to production waits for the key service operator’s approval.'),
      'done' => $this->t('Done.'),
      'requestFailed' => $this->t('The request failed (HTTP %s).'),
      'networkFailed' => $this->t('The site did not answer. Check your connection and try again.'),
    ];
    return array_map('strval', $strings);
  }

}
