<?php

namespace Drupal\keybridge\Controller;

use Drupal\Core\Controller\ControllerBase;
use Drupal\keybridge\AdminRequest;
use Drupal\keybridge\AgentSettings;
use Drupal\keybridge\Common\KeybridgeException;
use Drupal\keybridge\Common\Spec;
use Drupal\keybridge\KeybridgeKeys;
use Drupal\keybridge\StatusTable;
use Symfony\Component\DependencyInjection\ContainerInterface;
use Symfony\Component\HttpFoundation\JsonResponse;
use Symfony\Component\HttpFoundation\Request;

/**
 * POST /admin/config/system/keybridge/op/{operation}: the admin-ui's calls.
 *
 * The route lets through only users with "administer keybridge" whose request
 * carries Drupal's CSRF token (X-CSRF-Token). This forwards only the spec's
 * admin operations, with only their declared fields. The browser never talks
 * to the agent and never sees its token or a KEK: key operations go through
 * Key entities (KeybridgeKeys), which add the KEK they hold and keep the one
 * the agent returns, and wrapping_key is taken out of every answer.
 */
class AdminOperation extends ControllerBase {

  /**
   * HTTP status of the client-side problem types, which carry no agent status.
   */
  const CLIENT_STATUS = [
    'not-configured' => 503,
    'token-file-unreadable' => 503,
    'agent-unreachable' => 502,
    'agent-response-invalid' => 502,
  ];

  /**
   * Sets up the controller.
   *
   * @param \Drupal\keybridge\KeybridgeKeys $keys
   *   The keys.
   * @param \Drupal\keybridge\StatusTable $status
   *   The status table.
   * @param \Drupal\keybridge\AgentSettings $agent
   *   The agent settings.
   */
  public function __construct(
    protected KeybridgeKeys $keys,
    protected StatusTable $status,
    protected AgentSettings $agent,
  ) {}

  /**
   * {@inheritdoc}
   */
  public static function create(ContainerInterface $container) {
    return new static(
      $container->get('keybridge.keys'),
      $container->get('keybridge.status'),
      $container->get('keybridge.agent'),
    );
  }

  /**
   * Runs one admin operation.
   */
  public function handle(Request $request, string $operation): JsonResponse {
    if (!in_array($operation, Spec::ADMIN_OPERATIONS, TRUE)) {
      return $this->problem('not-found', (string) $this->t('This operation is not available from the admin screen.'), 404);
    }
    try {
      $body = AdminRequest::body((string) $request->getContent());
      AdminRequest::checkFields($operation, $body);
      return $this->answer(AdminRequest::withoutKeks($this->run($operation, $body)), 200);
    }
    catch (KeybridgeException $e) {
      $status = $e->http_status();
      if ($status < 400) {
        $status = self::CLIENT_STATUS[$e->problem_type()] ?? 500;
      }
      return $this->problem($e->problem_type(), $e->getMessage(), $status, $e->field());
    }
  }

  /**
   * Calls the agent (key operations through the Key entities).
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Any problem type.
   */
  protected function run(string $operation, array $body): array {
    $name = (string) ($body['name'] ?? '');
    $label = (string) ($body['label'] ?? '');
    switch ($operation) {
      case 'status':
        return $this->status->fetch();

      case 'keys.set':
        return $this->keys->set($name, AdminRequest::value($body), $label);

      case 'keys.generate':
        return $this->keys->generate($name, (int) $body['bits'], $label);

      case 'keys.rotate':
        return $this->keys->rotate($name);

      case 'keys.delete':
        $this->keys->delete($name);
        return ['name' => $name, 'deleted' => TRUE];

      default:
        $answer = $this->agent->client()->call($operation, $body);
        $this->status->forget();
        return $answer;
    }
  }

  /**
   * A JSON answer that no cache keeps.
   */
  protected function answer(array $data, int $status): JsonResponse {
    $response = new JsonResponse($data, $status);
    $response->headers->set('Cache-Control', 'no-store');
    return $response;
  }

  /**
   * A problem+json answer (never with a value, a KEK or the token).
   */
  protected function problem(string $type, string $title, int $status, string $field = ''): JsonResponse {
    $problem = ['type' => $type, 'title' => $title, 'status' => $status];
    if ($field !== '') {
      $problem['field'] = $field;
    }
    $response = $this->answer($problem, $status);
    $response->headers->set('Content-Type', 'application/problem+json');
    return $response;
  }

}
