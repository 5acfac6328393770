<?php

namespace Drupal\keybridge\Drush\Commands;

use Consolidation\OutputFormatters\StructuredData\PropertyList;
use Consolidation\OutputFormatters\StructuredData\RowsOfFields;
use Drupal\keybridge\AgentSettings;
use Drupal\keybridge\Common\KeybridgeException;
use Drupal\keybridge\KeybridgeKeys;
use Drupal\keybridge\LockrMigration;
use Drupal\keybridge\StatusTable;
use Drush\Attributes as CLI;
use Drush\Commands\DrushCommands;
use Drush\Exceptions\UserAbortException;
use Symfony\Component\Console\Output\OutputInterface;
use Symfony\Component\DependencyInjection\ContainerInterface;

/**
 * The drush keybridge:* commands (Drush 12+ attribute commands).
 *
 * Key commands work on Key entities with the keybridge provider, as the Key
 * pages do. Values are read from a file or standard input, never from the
 * command line (which other users of the host can see); a failure prints the
 * problem type and message (never a value or a KEK) and exits 1.
 */
final class KeybridgeCommands extends DrushCommands {

  /**
   * Sets up the commands.
   *
   * @param \Drupal\keybridge\KeybridgeKeys $keys
   *   The keybridge keys.
   * @param \Drupal\keybridge\StatusTable $status
   *   The status table.
   * @param \Drupal\keybridge\AgentSettings $agent
   *   The agent settings.
   * @param \Drupal\keybridge\LockrMigration $lockr
   *   The Lockr migration.
   */
  public function __construct(
    protected KeybridgeKeys $keys,
    protected StatusTable $status,
    protected AgentSettings $agent,
    protected LockrMigration $lockr,
  ) {
    parent::__construct();
  }

  /**
   * Makes the commands with the module's services.
   */
  public static function create(ContainerInterface $container): self {
    return new self(
      $container->get('keybridge.keys'),
      $container->get('keybridge.status'),
      $container->get('keybridge.agent'),
      $container->get('keybridge.lockr_migration'),
    );
  }

  /**
   * The keybridge status table (the rows of the status report).
   */
  #[CLI\Command(name: 'keybridge:status')]
  #[CLI\FieldLabels(labels: [
    'id' => 'Id',
    'title' => 'Check',
    'severity' => 'State',
    'value' => 'Value',
    'help' => 'What to do',
  ])]
  #[CLI\DefaultTableFields(fields: ['title', 'severity', 'value'])]
  #[CLI\Usage(name: 'drush keybridge:status --format=json', description: 'Every row as JSON, keyed by id.')]
  public function status(array $options = ['format' => 'table']): RowsOfFields {
    $rows = [];
    foreach ($this->status->fetch()['rows'] as $row) {
      // The help says what to run in drush's words (spec.yaml status_actions).
      $rows[$row['id']] = ['help' => $this->status->whatToDo($row, 'drush')] + $row;
    }
    return new RowsOfFields($rows);
  }

  /**
   * Stores a value in keybridge under a Key (created if missing).
   */
  #[CLI\Command(name: 'keybridge:set')]
  #[CLI\Argument(name: 'name', description: 'The Key machine name.')]
  #[CLI\Option(name: 'value-file', description: 'Read the value from this file; - reads standard input.')]
  #[CLI\Option(name: 'generate', description: 'Store this many random bits instead (64 to 4096, a multiple of 8).')]
  #[CLI\Option(name: 'label', description: 'The Key label for a new key.')]
  #[CLI\Usage(name: 'drush keybridge:set mail_password --value-file=- < secret.txt', description: 'Store what standard input holds.')]
  #[CLI\Usage(name: 'drush keybridge:set signing_key --generate=256', description: 'Store 256 random bits.')]
  public function set(string $name, array $options = [
    'value-file' => self::REQ,
    'generate' => self::REQ,
    'label' => '',
    'format' => 'yaml',
  ]): PropertyList {
    $label = (string) $options['label'];
    if ($options['generate'] !== NULL) {
      return new PropertyList($this->run(fn () => $this->keys->generate($name, (int) $options['generate'], $label)));
    }
    if ($options['value-file'] === NULL) {
      throw new \InvalidArgumentException(dt('Give the value with --value-file=FILE (or --value-file=- for standard input), or --generate=BITS: a value on the command line would be visible to other users of this host.'));
    }
    $value = $this->readValue((string) $options['value-file']);
    return new PropertyList($this->run(fn () => $this->keys->set($name, $value, $label)));
  }

  /**
   * Prints the value of a keybridge key, byte for byte.
   */
  #[CLI\Command(name: 'keybridge:get')]
  #[CLI\Argument(name: 'name', description: 'The Key machine name.')]
  public function get(string $name): void {
    $value = $this->run(fn () => $this->keys->get($name));
    $this->output()->write($value, FALSE, OutputInterface::OUTPUT_RAW);
  }

  /**
   * Deletes a key's value from this environment's vault, and its Key entity.
   */
  #[CLI\Command(name: 'keybridge:delete')]
  #[CLI\Argument(name: 'name', description: 'The Key machine name.')]
  public function delete(string $name): void {
    if (!$this->io()->confirm(dt('Delete the value of @name from this environment\'s vault, and the Key? It cannot be recovered.', ['@name' => $name]), FALSE)) {
      throw new UserAbortException();
    }
    $this->run(fn () => $this->keys->delete($name));
    $this->logger()->success(dt('Deleted @name.', ['@name' => $name]));
  }

  /**
   * Registers this site with the key service.
   */
  #[CLI\Command(name: 'keybridge:register')]
  #[CLI\Option(name: 'email', description: 'The account email.')]
  #[CLI\Option(name: 'password-file', description: 'A file holding the account password (needed when the account exists).')]
  #[CLI\Option(name: 'site-name', description: 'A name for this site.')]
  public function register(array $options = [
    'email' => self::REQ,
    'password-file' => self::REQ,
    'site-name' => self::REQ,
    'format' => 'yaml',
  ]): PropertyList {
    if (!is_string($options['email']) || $options['email'] === '') {
      throw new \InvalidArgumentException(dt('--email is required.'));
    }
    $body = ['email' => $options['email']];
    if ($options['password-file'] !== NULL) {
      $body['password'] = rtrim($this->readValue((string) $options['password-file']), "\r\n");
    }
    if ($options['site-name'] !== NULL) {
      $body['site_name'] = (string) $options['site-name'];
    }
    return $this->operation('register', $body);
  }

  /**
   * Makes a new key and a development certificate naming your organisation.
   */
  #[CLI\Command(name: 'keybridge:cert:create')]
  #[CLI\Option(name: 'country', description: 'Two capital letters, e.g. NL.')]
  #[CLI\Option(name: 'state', description: 'State or province.')]
  #[CLI\Option(name: 'locality', description: 'City.')]
  #[CLI\Option(name: 'org', description: 'Organization.')]
  public function certCreate(array $options = [
    'country' => self::REQ,
    'state' => self::REQ,
    'locality' => self::REQ,
    'org' => self::REQ,
    'format' => 'yaml',
  ]): PropertyList {
    foreach (['country', 'state', 'locality', 'org'] as $option) {
      if (!is_string($options[$option]) || $options[$option] === '') {
        throw new \InvalidArgumentException(dt('--@option is required.', ['@option' => $option]));
      }
    }
    return $this->operation('certificates.create', [
      'country' => $options['country'],
      'state' => $options['state'],
      'locality' => $options['locality'],
      'organization' => $options['org'],
    ]);
  }

  /**
   * Renews this site's certificate now.
   */
  #[CLI\Command(name: 'keybridge:cert:renew')]
  public function certRenew(array $options = ['format' => 'yaml']): PropertyList {
    return $this->operation('certificates.renew', []);
  }

  /**
   * Moves this site to production (it then reads production values only).
   */
  #[CLI\Command(name: 'keybridge:production')]
  #[CLI\Option(name: 'password-file', description: 'A file holding the account password (a copy of a development host cannot mint production without it).')]
  public function production(array $options = ['password-file' => self::REQ, 'format' => 'yaml']): PropertyList {
    $body = ['password' => $this->password($options)];
    if (!$this->io()->confirm(dt('Move this site to production? It will read production values from now on.'), FALSE)) {
      throw new UserAbortException();
    }
    return $this->operation('production', $body);
  }

  /**
   * After a revocation: a new certificate, with the account password.
   */
  #[CLI\Command(name: 'keybridge:cert:reissue')]
  #[CLI\Option(name: 'password-file', description: 'A file holding the account password.')]
  public function certReissue(array $options = ['password-file' => self::REQ, 'format' => 'yaml']): PropertyList {
    return $this->operation('certificates.reissue', ['password' => $this->password($options)]);
  }

  /**
   * The account password from --password-file (its one line).
   */
  protected function password(array $options): string {
    if (!is_string($options['password-file']) || $options['password-file'] === '') {
      throw new \InvalidArgumentException(dt('--password-file is required.'));
    }
    return rtrim($this->readValue($options['password-file']), "\r\n");
  }

  /**
   * Imports Lockr secrets and switches their Keys to keybridge.
   */
  #[CLI\Command(name: 'keybridge:import-lockr')]
  #[CLI\Argument(name: 'file', description: 'A JSON list of {"name", "ciphertext"} as Lockr\'s API returned them; the wrapping keys are read from this site.')]
  #[CLI\FieldLabels(labels: ['name' => 'Name', 'key' => 'Key', 'version' => 'Version', 'read_back' => 'Read back'])]
  public function importLockr(string $file, array $options = ['format' => 'table']): RowsOfFields {
    $items = $this->run(fn () => LockrMigration::parse($this->readValue($file)));
    $rows = $this->run(fn () => $this->lockr->import($items, function (int $done, int $total, string $name, string $read_back): void {
      $this->logger()->notice(dt('@done/@total @name imported, read back: @result', [
        '@done' => $done,
        '@total' => $total,
        '@name' => $name,
        '@result' => $read_back,
      ]));
    }));
    $failed = array_filter($rows, fn (array $row) => $row['read_back'] !== 'ok');
    if ($failed !== []) {
      throw new \RuntimeException(dt('@count imported keys could not be read back (see the table).', ['@count' => count($failed)]));
    }
    return new RowsOfFields($rows);
  }

  /**
   * Calls one agent operation and returns its answer.
   */
  protected function operation(string $operation, array $body): PropertyList {
    $answer = $this->run(fn () => $this->agent->client()->call($operation, $body));
    unset($answer['wrapping_key']);
    return new PropertyList(array_map(fn ($value) => is_array($value) ? json_encode($value) : $value, $answer));
  }

  /**
   * Runs $fn, turning a keybridge failure into a one-line error (exit 1).
   */
  protected function run(callable $fn): mixed {
    try {
      return $fn();
    }
    catch (KeybridgeException $e) {
      // One line: the problem type and its message (never a value or a KEK).
      throw new \RuntimeException($e->problem_type() . ': ' . $e->getMessage());
    }
  }

  /**
   * The bytes of a file, or of standard input for '-'.
   */
  protected function readValue(string $file): string {
    $value = $file === '-' ? stream_get_contents(STDIN) : (is_file($file) && is_readable($file) ? file_get_contents($file) : FALSE);
    if (!is_string($value)) {
      throw new \InvalidArgumentException(dt('@file cannot be read.', ['@file' => $file]));
    }
    return $value;
  }

}
