<?php

namespace Drupal\keybridge;

use Drupal\Core\StringTranslation\StringTranslationTrait;
use Drupal\Core\StringTranslation\TranslationInterface;
use Drupal\keybridge\Common\Client;
use Drupal\keybridge\Common\KeybridgeException;
use Drupal\keybridge\Common\Spec;

/**
 * The status table of DESIGN.md, or a readable one when the agent is down.
 *
 * Used by the status report, the settings page and drush keybridge:status;
 * never an exception: with the agent unreachable the table's first row is red
 * and says why, and the others say that nothing is known.
 */
class StatusTable {

  use StringTranslationTrait;

  /**
   * This request's table (fetched once per request with the configured client).
   *
   * @var array|null
   */
  protected ?array $fetched = NULL;

  /**
   * Uses the agent of settings.php.
   *
   * @param \Drupal\keybridge\AgentSettings $agent
   *   The agent settings.
   * @param \Drupal\Core\StringTranslation\TranslationInterface $string_translation
   *   The translation service.
   */
  public function __construct(
    protected AgentSettings $agent,
    TranslationInterface $string_translation,
  ) {
    $this->stringTranslation = $string_translation;
  }

  /**
   * The status: environment, region, registered, rows.
   *
   * @param \Drupal\keybridge\Common\Client|null $client
   *   A client, or NULL for the configured one (then the answer is kept for the
   *   rest of the request).
   *
   * @return array
   *   Each row with id, title, severity (ok, warning, error), value and help.
   */
  public function fetch(?Client $client = NULL): array {
    if ($client === NULL && $this->fetched !== NULL) {
      return $this->fetched;
    }
    try {
      $status = ($client ?? $this->agent->client())->status();
    }
    catch (KeybridgeException $e) {
      $status = $this->unreachable($e);
    }
    if ($client === NULL) {
      $this->fetched = $status;
    }
    return $status;
  }

  /**
   * What to do about a row, in one surface's words.
   *
   * The row's help, then its action (spec.yaml status_actions) as drush says it
   * ("Run: drush keybridge:…") or as the settings page says it (the form to use
   * there). Nothing for a green row.
   *
   * @param array $row
   *   A status row.
   * @param string $surface
   *   Either 'drush' or 'page'.
   */
  public function whatToDo(array $row, string $surface): string {
    $help = (string) ($row['help'] ?? '');
    $action = (string) ($row['action'] ?? '');
    if ($row['severity'] === 'ok' || !isset(Spec::STATUS_ACTIONS[$action][$surface])) {
      return $help;
    }
    $wording = Spec::STATUS_ACTIONS[$action][$surface];
    $todo = $surface === 'drush'
      ? (string) $this->t('Run: @command', ['@command' => $wording])
      // phpcs:ignore Drupal.Semantics.FunctionT.NotLiteralString -- the texts are spec.yaml's.
      : (string) $this->t($wording) . ' ' . (string) $this->t('(Configuration → System → Keybridge)');
    return $help === '' ? $todo : $help . ' ' . $todo;
  }

  /**
   * Drops this request's table (after an operation that changes it).
   */
  public function forget(): void {
    $this->fetched = NULL;
  }

  /**
   * The table for an agent that did not answer.
   */
  public function unreachable(KeybridgeException $e): array {
    $rows = [];
    foreach (Spec::STATUS_ROWS as $id => $title) {
      $rows[] = [
        'id' => $id,
        'title' => $title,
        'severity' => 'warning',
        'value' => (string) $this->t('unknown: the agent did not answer'),
        'help' => '',
        'action' => '',
      ];
    }
    $rows[0] = [
      'id' => 'agent',
      'title' => Spec::STATUS_ROWS['agent'],
      'severity' => 'error',
      'value' => $this->reason($e),
      'help' => $this->help($e->problem_type()),
      'action' => '',
    ];
    return [
      'environment' => '',
      'region' => '',
      'registered' => FALSE,
      'rows' => $rows,
    ];
  }

  /**
   * The red row's value: the problem in plain words, with the agent address.
   */
  protected function reason(KeybridgeException $e): string {
    $agent = $this->agent->agentAddress();
    return match ($e->problem_type()) {
      'agent-unreachable' => (string) $this->t('keybridge agent unreachable at @agent', ['@agent' => $agent]),
      'unauthorized' => (string) $this->t('the keybridge agent at @agent refused the token', ['@agent' => $agent]),
      default => $e->problem_type() . ': ' . $e->getMessage(),
    };
  }

  /**
   * What the site owner can do about a problem.
   */
  protected function help(string $type): string {
    return (string) match ($type) {
      'not-configured' => $this->t("Add \$settings['keybridge']['agent'] and \$settings['keybridge']['token_file'] to settings.php: `keybridge up` prints both lines."),
      'agent-unreachable' => $this->t("Start the agent (`keybridge up` or `keybridge agent --config FILE`) and check that \$settings['keybridge']['agent'] in settings.php names its socket or port."),
      'token-file-unreadable' => $this->t("Check \$settings['keybridge']['token_file'] in settings.php: the file must exist and be readable by the PHP user (mode 0600, outside the webroot)."),
      'unauthorized' => $this->t("\$settings['keybridge']['token_file'] must be the agent.token file of this agent; it changes when the agent's home changes."),
      default => $this->t("Check the agent's log; `keybridge status` on the host shows the same table."),
    };
  }

}
