<?php

namespace Drupal\keybridge;

use Drupal\Core\Site\Settings;
use Drupal\keybridge\Common\Client;
use Drupal\keybridge\Common\KeybridgeException;

/**
 * Where this site's keybridge agent is, from settings.php.
 *
 * @code
 * $settings['keybridge']['agent'] = 'unix:/var/lib/keybridge/agent.sock';
 * $settings['keybridge']['token_file'] = '/var/lib/keybridge/agent.token';
 * @endcode
 * (`keybridge up` prints both lines.) Each site of a multisite reads its own
 * settings.php, so each has its own agent, registration and vault. Optional:
 * ['persistent'] = TRUE keeps the agent connection open across the requests a
 * PHP worker serves.
 */
class AgentSettings {

  /**
   * The client, made on first use.
   *
   * @var \Drupal\keybridge\Common\Client|null
   */
  protected ?Client $client = NULL;

  /**
   * Reads $settings['keybridge'] of this site.
   *
   * @param \Drupal\Core\Site\Settings $settings
   *   The site's settings.
   * @param string $sitePath
   *   The site's folder, e.g. sites/default.
   */
  public function __construct(
    protected Settings $settings,
    protected string $sitePath,
  ) {}

  /**
   * The agent address as configured, '' when it is not.
   */
  public function agentAddress(): string {
    return (string) ($this->settings->get('keybridge', [])['agent'] ?? '');
  }

  /**
   * The token file path as configured, '' when it is not.
   */
  public function tokenFile(): string {
    return (string) ($this->settings->get('keybridge', [])['token_file'] ?? '');
  }

  /**
   * The client for this site's agent.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type not-configured when settings.php names no agent or token file.
   */
  public function client(): Client {
    if ($this->client === NULL) {
      if ($this->agentAddress() === '' || $this->tokenFile() === '') {
        throw new KeybridgeException('not-configured', "keybridge is not configured: set \$settings['keybridge']['agent'] and ['token_file'] in settings.php");
      }
      $persistent = !empty($this->settings->get('keybridge', [])['persistent']);
      $this->client = new Client($this->agentAddress(), $this->tokenFile(), ['persistent' => $persistent]);
    }
    return $this->client;
  }

  /**
   * What this site's cached ciphertexts belong to.
   *
   * Two sites (a multisite, or two installs on one host) sharing one APCu never
   * see each other's entries.
   */
  public function cacheScope(): string {
    return hash('sha256', DRUPAL_ROOT . "\0" . $this->sitePath . "\0" . $this->agentAddress());
  }

}
