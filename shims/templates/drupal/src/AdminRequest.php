<?php

namespace Drupal\keybridge;

use Drupal\keybridge\Common\KeybridgeException;
use Drupal\keybridge\Common\Spec;

/**
 * What the admin screen may send: checked against the spec before the agent.
 *
 * Fields the operation's request shape does not declare, KEKs from the browser,
 * missing required fields and fields of the wrong JSON type are refused with
 * invalid-field naming the field.
 */
final class AdminRequest {

  /**
   * The JSON object in a request body (an empty body is an empty object).
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type bad-request.
   */
  public static function body(string $raw): array {
    if (trim($raw) === '') {
      return [];
    }
    $body = json_decode($raw, TRUE);
    if (!is_array($body) || ($body !== [] && array_is_list($body))) {
      throw new KeybridgeException('bad-request', 'The request body must be a JSON object', 400);
    }
    return $body;
  }

  /**
   * Refuses a body the operation's request shape does not allow.
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type invalid-field with the field named.
   */
  public static function checkFields(string $operation, array $body): void {
    $shape = Spec::OPERATIONS[$operation]['request'] ?? [];
    $properties = $shape['properties'] ?? [];
    foreach ($body as $field => $value) {
      $field = (string) $field;
      if ($field === 'wrapping_key') {
        throw new KeybridgeException('invalid-field', 'The admin screen may not send a wrapping key: this site keeps its own', 400, $field);
      }
      if (!isset($properties[$field])) {
        throw new KeybridgeException('invalid-field', 'This operation has no such field', 400, $field);
      }
      $type = (string) ($properties[$field]['type'] ?? '');
      if (!self::hasType($value, $type)) {
        throw new KeybridgeException('invalid-field', 'This field must be a JSON ' . $type, 400, $field);
      }
    }
    foreach ($shape['required'] ?? [] as $field) {
      if ($field !== 'wrapping_key' && !array_key_exists($field, $body)) {
        throw new KeybridgeException('invalid-field', 'This field is required', 400, $field);
      }
    }
  }

  /**
   * The value of a keys.set request: value (text) or value_base64 (any bytes).
   *
   * @throws \Drupal\keybridge\Common\KeybridgeException
   *   Type invalid-value without exactly one of them, or for bad base64.
   */
  public static function value(array $body): string {
    if (isset($body['value']) === isset($body['value_base64'])) {
      throw new KeybridgeException('invalid-value', 'Give the value as either value or value_base64', 422, 'value');
    }
    if (isset($body['value'])) {
      return (string) $body['value'];
    }
    $bytes = base64_decode((string) $body['value_base64'], TRUE);
    if ($bytes === FALSE) {
      throw new KeybridgeException('invalid-value', 'value_base64 is not valid base64', 422, 'value_base64');
    }
    return $bytes;
  }

  /**
   * An answer without any wrapping_key (also inside lists).
   */
  public static function withoutKeks(array $answer): array {
    unset($answer['wrapping_key']);
    foreach ($answer as $field => $item) {
      if (is_array($item)) {
        $answer[$field] = self::withoutKeks($item);
      }
    }
    return $answer;
  }

  /**
   * Whether a decoded JSON value has the spec's type ('' accepts any).
   */
  protected static function hasType(mixed $value, string $type): bool {
    return match ($type) {
      'string' => is_string($value),
      'integer' => is_int($value),
      'boolean' => is_bool($value),
      'object', 'array' => is_array($value),
      default => TRUE,
    };
  }

}
