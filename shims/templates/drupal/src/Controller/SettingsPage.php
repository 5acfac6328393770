<?php

namespace Drupal\keybridge\Controller;

use Drupal\Core\Controller\ControllerBase;
use Drupal\keybridge\AdminConfig;
use Drupal\keybridge\AgentSettings;
use Drupal\keybridge\StatusTable;
use Symfony\Component\DependencyInjection\ContainerInterface;

/**
 * Configuration → System → Keybridge.
 *
 * The admin-ui bundle (status table, keys, forms) plus what PHP alone shows: a
 * server-rendered status table for browsers without JavaScript, the keys that
 * use the keybridge provider and the settings.php lines (the token file's
 * path, never the token).
 */
class SettingsPage extends ControllerBase {

  /**
   * Sets up the page.
   *
   * @param \Drupal\keybridge\StatusTable $status
   *   The status table.
   * @param \Drupal\keybridge\AdminConfig $adminConfig
   *   The bundle's configuration.
   * @param \Drupal\keybridge\AgentSettings $agent
   *   The agent settings.
   */
  public function __construct(
    protected StatusTable $status,
    protected AdminConfig $adminConfig,
    protected AgentSettings $agent,
  ) {}

  /**
   * {@inheritdoc}
   */
  public static function create(ContainerInterface $container) {
    return new static(
      $container->get('keybridge.status'),
      $container->get('keybridge.admin_config'),
      $container->get('keybridge.agent'),
    );
  }

  /**
   * The page.
   */
  public function build(): array {
    return [
      // The CSRF token is per session and the table is live: never cached.
      '#cache' => ['max-age' => 0],
      'admin' => [
        '#type' => 'container',
        '#attributes' => ['id' => 'keybridge-admin'],
        'noscript' => [
          '#type' => 'html_tag',
          '#tag' => 'noscript',
          'intro' => ['#markup' => '<p>' . $this->t('The forms on this page need JavaScript. The status as of this page load:') . '</p>'],
          'table' => $this->statusTable(),
        ],
        '#attached' => [
          'library' => ['keybridge/admin'],
          'drupalSettings' => ['keybridgeAdmin' => $this->adminConfig->build()],
        ],
      ],
      'keys' => $this->keysUsingKeybridge(),
      'configuration' => $this->configuration(),
    ];
  }

  /**
   * The status table as plain HTML (severity as a word, not colour alone).
   */
  protected function statusTable(): array {
    $titles = $this->adminConfig->statusTitles();
    $words = ['ok' => $this->t('OK'), 'warning' => $this->t('Warning'), 'error' => $this->t('Error')];
    $rows = [];
    foreach ($this->status->fetch()['rows'] as $row) {
      $rows[] = [
        $titles[$row['id']] ?? (string) $row['title'],
        $words[$row['severity']] ?? $words['error'],
        (string) $row['value'],
        (string) $row['help'],
      ];
    }
    return [
      '#type' => 'table',
      '#header' => [$this->t('Check'), $this->t('State'), $this->t('Value'), $this->t('What to do')],
      '#rows' => $rows,
    ];
  }

  /**
   * The Key entities whose values keybridge holds.
   */
  protected function keysUsingKeybridge(): array {
    $keys = $this->entityTypeManager()->getStorage('key')->loadByProperties(['key_provider' => 'keybridge']);
    ksort($keys);
    $items = [];
    foreach ($keys as $id => $key) {
      $items[] = $this->t('@label (<code>@id</code>)', ['@label' => $key->label(), '@id' => $id]);
    }
    return [
      'heading' => ['#type' => 'html_tag', '#tag' => 'h2', '#value' => $this->t('Keys that use keybridge')],
      'help' => ['#markup' => '<p>' . $this->t('Key entities whose provider is keybridge: Key config overrides and other modules read them through the Key module. Add one here (Add or replace a key) or on the Keys page with the Keybridge provider.') . '</p>'],
      'list' => $items === []
        ? ['#markup' => '<p><em>' . $this->t('No key uses keybridge yet.') . '</em></p>']
        : ['#theme' => 'item_list', '#items' => $items],
    ];
  }

  /**
   * Where the module finds its agent ($settings['keybridge'] in settings.php).
   */
  protected function configuration(): array {
    $not_set = $this->t('not set');
    $token_file = $this->agent->tokenFile();
    $token_state = '';
    if ($token_file !== '') {
      $token_state = is_readable($token_file) ? $this->t('readable') : $this->t('not readable by PHP');
    }
    return [
      'heading' => ['#type' => 'html_tag', '#tag' => 'h2', '#value' => $this->t('Configuration')],
      'help' => ['#markup' => '<p>' . $this->t('Set in settings.php; <code>keybridge up</code> prints both lines. The token itself is never shown.') . '</p>'],
      'table' => [
        '#type' => 'table',
        '#rows' => [
          [
            "\$settings['keybridge']['agent']",
            $this->agent->agentAddress() === '' ? $not_set : $this->agent->agentAddress(),
          ],
          [
            "\$settings['keybridge']['token_file']",
            $token_file === '' ? $not_set : $token_file . ($token_state === '' ? '' : ' (' . $token_state . ')'),
          ],
        ],
      ],
    ];
  }

}
